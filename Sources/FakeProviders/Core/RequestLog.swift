import Synchronization

/// Every request the fakes answered (the control port's own excepted), for tests that assert
/// "one send per job" or "no request carried a revoked token". A ring of `capacity` entries;
/// `seq` keeps counting.
final class RequestLog: Sendable {
    /// One answered request.
    struct Entry: Sendable {
        let seq: Int64
        let service: ServiceKind
        let method: String
        let path: String
        let query: String
        let hasAuthorization: Bool
        let status: Int
        /// The bearer token sent, kept for assertions in-process (never exposed by the control API).
        let token: String?

        var json: JSON {
            .object([
                ("seq", .int(seq)), ("service", .string(service.rawValue)), ("method", .string(method)), ("path", .string(path)),
                ("query", .string(query)), ("has_authorization", .bool(hasAuthorization)), ("status", .int(Int64(status))),
            ])
        }
    }

    private struct State {
        var entries: [Entry] = []
        var start = 0
        var nextSeq: Int64 = 1
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = max(0, capacity) }

    func record(service: ServiceKind, request: ProviderRequest, status: Int) {
        guard capacity > 0 else { return }
        let hasAuthorization = request.header("authorization") != nil
        let token = request.bearerToken
        state.withLock { state in
            let entry = Entry(
                seq: state.nextSeq, service: service, method: request.method, path: request.path, query: request.rawQuery,
                hasAuthorization: hasAuthorization, status: status, token: token)
            state.nextSeq += 1
            if state.entries.count < capacity {
                state.entries.append(entry)
            } else {
                state.entries[state.start] = entry
                state.start = (state.start + 1) % capacity
            }
        }
    }

    /// Entries with `seq > since`, oldest first, optionally of one service.
    func entries(service: ServiceKind? = nil, since: Int64 = 0) -> [Entry] {
        state.withLock { state in
            let ordered = Array(state.entries[state.start...] + state.entries[..<state.start])
            return ordered.filter { $0.seq > since && (service == nil || $0.service == service) }
        }
    }

    /// The seq the next entry will get.
    var nextSeq: Int64 { state.withLock { $0.nextSeq } }
}
