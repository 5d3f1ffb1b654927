import Foundation

/// Everything a worker needs to run a job, and everything the audit needs to attribute it.
public struct JobEnvelope: Sendable, Equatable {
    /// ULID of the job (see `JobID`).
    public var id: String
    public var tenant: TenantID
    public var kind: JobKind
    /// The action the job was admitted under, e.g. `gmail.read`.
    public var action: Action
    /// The job's input: a JSON document, kept as raw bytes so the queue never re-encodes it.
    public var payload: [UInt8]
    public var classification: Classification
    public var requester: Requester
    /// Links every audit entry of one request or job.
    public var requestID: String
    public var idempotencyKey: String?
    /// 1 for the first run; raised by every retry and every redelivery after a crash.
    public var attempt: Int
    /// How often the job was replayed from the dead letters (0: never). A replay starts the
    /// attempts afresh, so its lifecycle events are keyed by this too.
    public var replay: Int
    /// Milliseconds since the epoch.
    public var enqueuedAt: Int64
    /// Milliseconds since the epoch; nil runs as soon as possible.
    public var runAt: Int64?
    public var trace: TraceContext?
    /// The policy decision the job was admitted with.
    public var admission: PolicyDecision?

    public init(
        id: String = JobID.make(), tenant: TenantID, kind: JobKind, action: Action, payload: [UInt8] = Array("{}".utf8),
        classification: Classification = .internal, requester: Requester, requestID: String = "",
        idempotencyKey: String? = nil, attempt: Int = 1, replay: Int = 0, enqueuedAt: Int64 = Clock.milliseconds(),
        runAt: Int64? = nil, trace: TraceContext? = nil, admission: PolicyDecision? = nil
    ) {
        self.id = id
        self.tenant = tenant
        self.kind = kind
        self.action = action
        self.payload = payload
        self.classification = classification
        self.requester = requester
        self.requestID = requestID.isEmpty ? id : requestID
        self.idempotencyKey = idempotencyKey
        self.attempt = attempt
        self.replay = replay
        self.enqueuedAt = enqueuedAt
        self.runAt = runAt
        self.trace = trace
        self.admission = admission
    }

    /// The generation of the job's audit keys: its retry attempt, within its replay.
    public var generation: String { replay > 0 ? "r\(replay).\(attempt)" : String(attempt) }

    /// The payload decoded as `T`, or `FleetError.invalidPayload` naming what is wrong.
    public func decodePayload<T: Decodable>(_ type: T.Type) throws(FleetError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(payload))
        } catch {
            throw FleetError(.invalidPayload, "payload of \(kind) job \(id) does not decode as \(T.self): \(error)")
        }
    }
}

/// Wall-clock helpers in the units the queue stores (milliseconds since the epoch).
public enum Clock {
    public static func milliseconds(_ date: Date = Date()) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

extension Duration {
    /// Whole milliseconds.
    public var milliseconds: Int64 {
        let parts = components
        return parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    }
}
