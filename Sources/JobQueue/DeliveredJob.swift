import Contracts

/// A stream entry delivered to this consumer.
public struct DeliveredJob: Sendable {
    public let tenant: TenantID
    public let kind: JobKind
    /// The entry id in the tenant's stream.
    public let entryID: String
    /// How many times the entry has been delivered (more than 1 after a worker died with it).
    public let deliveries: Int
    /// The decoded envelope, or why the entry could not be decoded.
    public let decoded: Result<JobEnvelope, FleetError>
    /// The raw field/value pairs of an entry that failed to decode (dead-lettered as they were).
    let raw: [([UInt8], [UInt8])]

    init(tenant: TenantID, kind: JobKind, entryID: String, deliveries: Int, pairs: [([UInt8], [UInt8])]) {
        self.tenant = tenant
        self.kind = kind
        self.entryID = entryID
        self.deliveries = max(1, deliveries)
        var decoded: Result<JobEnvelope, FleetError>
        do {
            let envelope = try JobEnvelope(fields: pairs)
            if envelope.tenant != tenant || envelope.kind != kind {
                decoded = .failure(
                    FleetError(
                        .invalidJob, "entry names tenant \(envelope.tenant)/kind \(envelope.kind) but sits in \(tenant)/\(kind)'s stream"))
            } else {
                decoded = .success(envelope)
            }
        } catch {
            decoded = .failure(error)
        }
        self.decoded = decoded
        if case .failure = decoded { raw = pairs } else { raw = [] }
    }

    /// The envelope, when the entry decoded.
    public var envelope: JobEnvelope? { try? decoded.get() }

    /// Which attempt this delivery is: the envelope's attempt plus redeliveries after crashes.
    public var attempt: Int { (envelope?.attempt ?? 1) + deliveries - 1 }

    /// The job id, also for an undecodable entry when its `id` field is usable.
    public var jobID: String? {
        if let envelope { return envelope.id }
        guard let value = raw.first(where: { $0.0 == Array("id".utf8) })?.1 else { return nil }
        let id = String(decoding: value, as: UTF8.self)
        return JobID.isValid(id) ? id : nil
    }
}
