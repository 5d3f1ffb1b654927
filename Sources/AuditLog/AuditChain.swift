import Contracts
import Crypto
import Foundation

/// An audit entry as stored: the event plus its place in the tenant's hash chain.
public struct AuditRecord: Sendable, Equatable {
    public var event: AuditEvent
    /// Position in the tenant's chain, from 1, without gaps.
    public var seq: Int64
    public var prevHash: [UInt8]
    public var hash: [UInt8]

    public init(event: AuditEvent, seq: Int64, prevHash: [UInt8], hash: [UInt8]) {
        self.event = event
        self.seq = seq
        self.prevHash = prevHash
        self.hash = hash
    }
}

/// The hash chain: `hash = SHA-256(prev_hash ‖ canonical entry)`, one chain per tenant.
public enum AuditChain {
    /// The `prev_hash` of a tenant's first entry.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The canonical encoding of an entry: every field in a fixed order, each as
    /// `<byte length>:<bytes>` (or `~` when absent), after a format tag. JSON fields are hashed
    /// byte for byte as stored (the column type `json` keeps them verbatim).
    public static func canonical(_ event: AuditEvent, seq: Int64) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.put(event.tenant.rawValue)
        encoder.put(String(seq))
        encoder.put(event.id)
        encoder.put(event.eventKey)
        encoder.put(String(event.timestamp))
        encoder.put(event.userID)
        encoder.put(event.actionType)
        encoder.put(event.actionDetail)
        encoder.put(event.dataAccessedJSON)
        encoder.put(event.modelUsed)
        encoder.put(event.modelTokens.map { String($0) })
        encoder.put(event.dataClassification.rawValue)
        encoder.put(event.policyApplied)
        encoder.put(event.policyResult)
        encoder.put(event.policyReason)
        encoder.put(event.outcome.rawValue)
        encoder.put(event.requestID)
        return encoder.bytes
    }

    /// Builds the canonical encoding field by field.
    struct CanonicalEncoder {
        private(set) var bytes = Array("oc-audit-v1".utf8)

        init() { bytes.reserveCapacity(512) }

        /// Starts over, keeping the buffer.
        mutating func reset() {
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: "oc-audit-v1".utf8)
        }

        mutating func put(_ value: String?) {
            guard var value else {
                bytes.append(UInt8(ascii: "~"))
                return
            }
            value.withUTF8 { put(UnsafeRawBufferPointer($0)) }
        }

        mutating func put(_ value: UnsafeRawBufferPointer?) {
            guard let value else {
                bytes.append(UInt8(ascii: "~"))
                return
            }
            appendDecimal(value.count)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: value)
        }

        private mutating func appendDecimal(_ number: Int) {
            if number < 10 {
                bytes.append(UInt8(ascii: "0") + UInt8(number))
                return
            }
            var divisor = 1
            while divisor * 10 <= number { divisor *= 10 }
            var rest = number
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
    }

    /// The hash of `event` at `seq` following `prevHash`.
    public static func hash(_ event: AuditEvent, seq: Int64, prevHash: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: prevHash)
        hasher.update(data: canonical(event, seq: seq))
        return Array(hasher.finalize())
    }

    /// What `verify` found.
    public struct Report: Sendable, Equatable, CustomStringConvertible {
        public var tenant: TenantID
        public var checked: Int
        public var firstSeq: Int64?
        public var lastSeq: Int64?
        public var lastHash: [UInt8]?
        /// The first broken entry, nil when the chain is intact.
        public var problem: Problem?
        /// With a checkpoint: entries appended since it was taken (normal as the log grows).
        public var entriesPastCheckpoint: Int64?

        public struct Problem: Sendable, Equatable {
            /// The sequence number where the chain breaks.
            public var seq: Int64
            /// The entry's id, when the entry exists.
            public var entryID: String?
            public var reason: String
        }

        public var isIntact: Bool { problem == nil }

        public var description: String {
            if let problem {
                return
                    "tenant \(tenant): chain BROKEN at seq \(problem.seq)\(problem.entryID.map { " (entry \($0))" } ?? ""): \(problem.reason); \(checked) entries checked"
            }
            let since = entriesPastCheckpoint.map { "; \($0) entries since the checkpoint" } ?? ""
            return "tenant \(tenant): chain intact, \(checked) entries (seq \(firstSeq ?? 0)...\(lastSeq ?? 0))\(since)"
        }
    }

    /// Checks records given in chain order, chunk by chunk. Starts from `anchor`: the hash
    /// before the first record expected (genesis for seq 1).
    public struct Verifier: Sendable {
        public private(set) var report: Report
        private var expectedSeq: Int64?
        private var previousHash: [UInt8]?
        /// A seq whose hash the caller wants to compare (a checkpoint's).
        public var watchedSeq: Int64?
        public private(set) var watchedHash: [UInt8]?

        /// - Parameters:
        ///   - startSeq: the first seq expected (1 for a whole chain; nil accepts whatever comes first).
        ///   - anchor: the hash the first record must link to (nil accepts its stored prev_hash).
        public init(tenant: TenantID, startSeq: Int64? = 1, anchor: [UInt8]? = AuditChain.genesis) {
            report = Report(tenant: tenant, checked: 0)
            expectedSeq = startSeq
            previousHash = anchor
        }

        /// Checks the next record; returns false once the chain is broken.
        @discardableResult
        public mutating func check(_ record: AuditRecord) -> Bool {
            if record.event.tenant != report.tenant, report.problem == nil {
                report.problem = .init(seq: record.seq, entryID: record.event.id, reason: "entry belongs to tenant \(record.event.tenant)")
            }
            return check(
                seq: record.seq, entryID: record.event.id, prevHash: record.prevHash, hash: record.hash,
                computed: AuditChain.hash(record.event, seq: record.seq, prevHash: record.prevHash))
        }

        /// Checks the next entry given its stored fields and the hash recomputed from its content.
        mutating func check(seq: Int64, entryID: @autoclosure () -> String, prevHash: [UInt8], hash: [UInt8], computed: [UInt8]) -> Bool {
            guard report.problem == nil else { return false }
            func fail(_ seq: Int64, _ id: String?, _ reason: String) -> Bool {
                report.problem = .init(seq: seq, entryID: id, reason: reason)
                return false
            }
            if let expectedSeq, seq != expectedSeq {
                if seq > expectedSeq {
                    return fail(expectedSeq, nil, "entry missing: expected seq \(expectedSeq), found \(seq) (deleted?)")
                }
                return fail(seq, entryID(), "duplicate or out-of-order seq \(seq) (inserted?)")
            }
            if let previousHash, prevHash != previousHash {
                return fail(seq, entryID(), "prev_hash does not match the previous entry's hash")
            }
            if computed != hash {
                return fail(seq, entryID(), "hash does not match the entry's content (altered?)")
            }
            if report.firstSeq == nil { report.firstSeq = seq }
            if seq == watchedSeq { watchedHash = hash }
            report.checked += 1
            report.lastSeq = seq
            report.lastHash = hash
            expectedSeq = seq + 1
            previousHash = hash
            return true
        }

        /// Records that the chain should continue up to `seq` with `hash` (the stored head or a
        /// checkpoint) and flags it when it does not. With `isEnd` (the stored head, read after
        /// the entries) the chain must end there: the application moves the head with every
        /// append, so entries past it were appended behind its back.
        public mutating func expectHead(seq: Int64, hash: [UInt8], source: String, isEnd: Bool = false) {
            guard report.problem == nil else { return }
            let last = report.lastSeq ?? ((expectedSeq ?? 1) - 1)
            if last < seq {
                report.problem = .init(
                    seq: last + 1, entryID: nil, reason: "\(source) says the chain reaches seq \(seq) but it ends at \(last) (truncated?)")
            } else if last == seq, let lastHash = report.lastHash, lastHash != hash {
                report.problem = .init(seq: seq, entryID: nil, reason: "\(source) hash at seq \(seq) differs (rewritten?)")
            } else if last > seq && isEnd {
                report.problem = .init(
                    seq: seq + 1, entryID: nil,
                    reason: "\(last - seq) entries past \(source) at seq \(seq) (appended behind the application's back?)")
            }
        }

        /// The hash at `seq`, when it has been checked (for comparing with a checkpoint).
        public var lastChecked: (seq: Int64, hash: [UInt8])? {
            guard let seq = report.lastSeq, let hash = report.lastHash else { return nil }
            return (seq, hash)
        }
    }
}
