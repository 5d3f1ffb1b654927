import Synchronization

/// Answers set up by `POST /control/faults`: the next `count` requests of a service matching a
/// path prefix (and method) get this status, headers and body instead of the real answer.
final class FaultInjector: Sendable {
    /// One rule.
    struct Fault: Sendable {
        var service: ServiceKind
        var pathPrefix: String
        var method: String?
        var remaining: Int
        /// nil: answer normally after `delayMillis` (slow success); 0: hold, then close the connection.
        var status: Int?
        var headers: [(name: String, value: String)]
        var body: String?
        var delayMillis: Int
    }

    /// What a matching request gets.
    struct Action: Sendable {
        let status: Int?
        let headers: [(name: String, value: String)]
        let body: String?
        let delayMillis: Int
    }

    private let faults = Mutex<[Fault]>([])

    func add(_ fault: Fault) { faults.withLock { $0.append(fault) } }

    func clear() { faults.withLock { $0.removeAll() } }

    /// Takes one use of the first rule matching the request, if any.
    func take(service: ServiceKind, method: String, path: String) -> Action? {
        faults.withLock { faults in
            guard !faults.isEmpty,
                let index = faults.firstIndex(where: {
                    $0.service == service && $0.remaining > 0 && path.hasPrefix($0.pathPrefix)
                        && ($0.method == nil || $0.method == method)
                })
            else { return nil }
            faults[index].remaining -= 1
            let fault = faults[index]
            if fault.remaining == 0 { faults.remove(at: index) }
            return Action(status: fault.status, headers: fault.headers, body: fault.body, delayMillis: fault.delayMillis)
        }
    }
}
