import Contracts

/// A stream entry delivered to this consumer. A class: it travels through several collections
/// per job, and copying a struct of this size costs more than the job.
public final class DeliveredJob: Sendable {
    public let tenant: TenantID
    public let kind: JobKind
    /// The entry id in the tenant's stream.
    public let entryID: String
    /// How many times the entry has been delivered (more than 1 after a worker died with it).
    public let deliveries: Int
    /// The envelope, when the entry decoded.
    public let envelope: JobEnvelope?
    /// Why the entry could not be decoded.
    public let decodeError: FleetError?
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
        switch decoded {
        case .success(let envelope):
            self.envelope = envelope
            self.decodeError = nil
            self.raw = []
        case .failure(let error):
            self.envelope = nil
            self.decodeError = error
            self.raw = pairs
        }
        self.attempt = (envelope?.attempt ?? 1) + self.deliveries - 1
    }

    /// Which attempt this delivery is: the envelope's attempt plus redeliveries after crashes.
    public let attempt: Int

    /// The job id, also for an undecodable entry when its `id` field is usable.
    public var jobID: String? {
        if let envelope { return envelope.id }
        // An envelope header starts `1|26:<id>|`; use the id if that much is intact.
        guard let header = raw.first(where: { $0.0 == [UInt8(ascii: "e")] })?.1, header.count >= 31,
            header.starts(with: Array("1|26:".utf8))
        else { return nil }
        let id = String(decoding: header[5..<31], as: UTF8.self)
        return JobID.isValid(id) ? id : nil
    }
}
