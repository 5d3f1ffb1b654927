import Crypto
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends the webhooks GitHub and Jira would send for changes made through the fakes, to the
/// endpoints registered with `POST /control/webhooks`. GitHub signs with `X-Hub-Signature-256`
/// (and the legacy SHA-1 header) and never retries; Jira signs with `X-Hub-Signature` and retries
/// a failed delivery with the same `X-Atlassian-Webhook-Identifier`. Deliveries can be sent again
/// (`POST /control/webhooks/redeliver`) with the same delivery id, as a redelivery would.
final class WebhookSender: Sendable {
    /// A registered endpoint.
    struct Hook: Sendable {
        let id: Int
        let service: ServiceKind
        let url: String
        let secret: String?
        /// Event names to send (empty: all).
        let events: Set<String>
    }

    /// One delivery and what became of it.
    struct Delivery: Sendable {
        let id: String
        let hook: Hook
        let event: String
        let body: [UInt8]
        var attempts: Int = 0
        var status: Int?
    }

    private struct State {
        var hooks: [Hook] = []
        var deliveries: [Delivery] = []
        var nextHook = 1
    }

    private let state = Mutex(State())
    private let clock: FakeClock

    init(clock: FakeClock) { self.clock = clock }

    func register(service: ServiceKind, url: String, secret: String?, events: [String]) -> Int {
        state.withLock { state in
            let hook = Hook(id: state.nextHook, service: service, url: url, secret: secret, events: Set(events))
            state.nextHook += 1
            state.hooks.append(hook)
            return hook.id
        }
    }

    func clear() { state.withLock { $0 = State() } }

    var deliveries: [Delivery] { state.withLock { $0.deliveries } }

    /// Sends `payload` as event `event` of `service` to every matching hook (in the background).
    func emit(_ service: ServiceKind, event: String, action: String? = nil, payload: JSON) {
        let hooks = state.withLock { $0.hooks.filter { $0.service == service && ($0.events.isEmpty || $0.events.contains(event)) } }
        guard !hooks.isEmpty else { return }
        let body = JSONWriter.bytes(payload)
        for hook in hooks {
            let delivery = Delivery(
                id: service == .github ? UUID().uuidString.lowercased() : UUID().uuidString.lowercased(), hook: hook, event: event,
                body: body)
            state.withLock { $0.deliveries.append(delivery) }
            Task { await self.deliver(delivery, retries: service == .jira ? 2 : 0) }
        }
    }

    /// Sends delivery `id` again with the same identifier.
    func redeliver(_ id: String) -> Bool {
        guard let delivery = state.withLock({ $0.deliveries.first { $0.id == id } }) else { return false }
        Task { await self.deliver(delivery, retries: 0, redelivery: true) }
        return true
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String($0, radix: 16).leftPadded(2) }.joined() }

    /// The signature headers of `body` under `secret`.
    static func signatures(_ body: [UInt8], secret: String, service: ServiceKind) -> [(String, String)] {
        let key = SymmetricKey(data: Array(secret.utf8))
        let sha256 = "sha256=" + hex(HMAC<SHA256>.authenticationCode(for: body, using: key))
        if service == .github {
            return [
                ("X-Hub-Signature-256", sha256),
                ("X-Hub-Signature", "sha1=" + hex(HMAC<Insecure.SHA1>.authenticationCode(for: body, using: key))),
            ]
        }
        return [("X-Hub-Signature", sha256)]
    }

    private func deliver(_ delivery: Delivery, retries: Int, redelivery: Bool = false) async {
        var attempt = 0
        while true {
            guard let url = URL(string: delivery.hook.url) else { return }
            var request = URLRequest(url: url, timeoutInterval: 10)
            request.httpMethod = "POST"
            request.httpBody = Data(delivery.body)
            var headers: [(String, String)] = [("Content-Type", "application/json")]
            switch delivery.hook.service {
            case .github:
                headers += [
                    ("User-Agent", "GitHub-Hookshot/fake"), ("X-GitHub-Event", delivery.event), ("X-GitHub-Delivery", delivery.id),
                    ("X-GitHub-Hook-ID", String(delivery.hook.id)), ("X-GitHub-Hook-Installation-Target-Type", "repository"),
                    ("X-GitHub-Hook-Installation-Target-ID", "600000000"),
                ]
            default:
                headers += [
                    ("User-Agent", "Atlassian Webhook HTTP Client"), ("X-Atlassian-Webhook-Identifier", delivery.id),
                    ("X-Atlassian-Webhook-Retry", String(attempt)), ("X-Atlassian-Webhook-Flow", attempt == 0 ? "Primary" : "Secondary"),
                ]
            }
            if let secret = delivery.hook.secret {
                headers += Self.signatures(delivery.body, secret: secret, service: delivery.hook.service)
            }
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            var status = 0
            if let (_, response) = try? await URLSession.shared.data(for: request) {
                status = (response as? HTTPURLResponse)?.statusCode ?? 0
            }
            state.withLock { state in
                if let index = state.deliveries.firstIndex(where: { $0.id == delivery.id }) {
                    state.deliveries[index].attempts += 1
                    state.deliveries[index].status = status
                }
            }
            if (200..<300).contains(status) || attempt >= retries { return }
            attempt += 1
            try? await Task.sleep(for: .milliseconds(500 * attempt))
        }
    }
}
