import Contracts
import Foundation
import PostgresClient

/// Streams a tenant's entries of a time range as JSON lines or CSV, chain fields included, and
/// verifies such an export on its own (each line's hash, and each line linking to the one before).
public enum AuditExport {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl
        case csv
    }

    static let csvColumns = [
        "tenant_id", "seq", "id", "event_key", "timestamp_us", "user_id", "action_type", "action_detail", "data_accessed",
        "model_used", "model_tokens", "data_classification", "policy_applied", "policy_result", "policy_reason", "outcome",
        "request_id", "prev_hash", "hash",
    ]

    /// Writes the entries of `tenant` with `from <= ts < to` (microseconds) through `write`,
    /// chunk by chunk; returns how many.
    @discardableResult
    public static func export(
        store: AuditStore, tenant: TenantID, from: Int64?, to: Int64?, format: Format, write: (String) throws -> Void
    ) async throws -> Int {
        if format == .csv { try write(csvColumns.joined(separator: ",") + "\n") }
        var after: Int64 = 0
        var count = 0
        while true {
            let records = try await store.chain(tenant: tenant, afterSeq: after, from: from, to: to, limit: 10_000)
            var text = ""
            for record in records { text += (format == .jsonl ? jsonLine(record) : csvLine(record)) + "\n" }
            if !text.isEmpty { try write(text) }
            count += records.count
            guard let last = records.last, records.count == 10_000 else { break }
            after = last.seq
        }
        return count
    }

    /// One entry as a JSON object on one line. JSON fields are embedded as strings, byte for
    /// byte as stored, so the line can be re-hashed.
    public static func jsonLine(_ record: AuditRecord) -> String {
        let event = record.event
        var object: [String: Any] = [
            "tenant_id": event.tenant.rawValue, "seq": record.seq, "id": event.id, "event_key": event.eventKey,
            "timestamp_us": event.timestamp, "user_id": event.userID, "action_type": event.actionType,
            "action_detail": event.actionDetail, "data_accessed": event.dataAccessedJSON,
            "data_classification": event.dataClassification.rawValue, "outcome": event.outcome.rawValue,
            "request_id": event.requestID, "prev_hash": Hex.encode(record.prevHash), "hash": Hex.encode(record.hash),
        ]
        object["model_used"] = event.modelUsed ?? NSNull()
        object["model_tokens"] = event.modelTokens ?? NSNull()
        object["policy_applied"] = event.policyApplied ?? NSNull()
        object["policy_result"] = event.policyResult ?? NSNull()
        object["policy_reason"] = event.policyReason ?? NSNull()
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func csvLine(_ record: AuditRecord) -> String {
        let event = record.event
        let values: [String?] = [
            event.tenant.rawValue, String(record.seq), event.id, event.eventKey, String(event.timestamp), event.userID,
            event.actionType, event.actionDetail, event.dataAccessedJSON, event.modelUsed, event.modelTokens.map { String($0) },
            event.dataClassification.rawValue, event.policyApplied, event.policyResult, event.policyReason, event.outcome.rawValue,
            event.requestID, Hex.encode(record.prevHash), Hex.encode(record.hash),
        ]
        return values.map { value in
            guard let value else { return "" }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",")
    }

    /// Parses one JSON line of an export back into a record.
    public static func record(jsonLine line: some StringProtocol) throws -> AuditRecord {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw FleetError(.invalidPayload, "export line is not a JSON object")
        }
        func text(_ key: String) -> String? { object[key] as? String }
        func number(_ key: String) -> Int64? { (object[key] as? NSNumber)?.int64Value }
        guard let tenantText = text("tenant_id"), let seq = number("seq"), let id = text("id"), let timestamp = number("timestamp_us"),
            let prev = text("prev_hash").flatMap({ Hex.decode($0) }), let hash = text("hash").flatMap({ Hex.decode($0) })
        else { throw FleetError(.invalidPayload, "export line lacks a required field") }
        var event = AuditEvent(
            id: id, tenant: try TenantID(tenantText), eventKey: text("event_key"), userID: text("user_id") ?? "",
            timestamp: timestamp, actionType: text("action_type") ?? "", actionDetail: text("action_detail") ?? "{}",
            modelUsed: text("model_used"), modelTokens: number("model_tokens").map { Int($0) },
            dataClassification: Classification(parsing: text("data_classification")), policyApplied: text("policy_applied"),
            policyResult: text("policy_result"), policyReason: text("policy_reason"),
            outcome: AuditEvent.Outcome(rawValue: text("outcome") ?? "") ?? .error, requestID: text("request_id") ?? "")
        event.dataAccessedJSON = text("data_accessed") ?? "[]"
        return AuditRecord(event: event, seq: seq, prevHash: prev, hash: hash)
    }

    /// Verifies a JSON-lines export: per tenant, every line's hash and the links between
    /// consecutive lines. The first line of each tenant is anchored on its own prev_hash (the
    /// entries before the range are not in the file).
    public static func verify(jsonLines: String) throws -> [AuditChain.Report] {
        var verifiers: [TenantID: AuditChain.Verifier] = [:]
        var order: [TenantID] = []
        for (number, line) in jsonLines.split(separator: "\n").enumerated() where !line.isEmpty {
            let record: AuditRecord
            do {
                record = try Self.record(jsonLine: line)
            } catch {
                throw FleetError(.auditIntegrity, "line \(number + 1) of the export is not an audit entry: \(error)")
            }
            let tenant = record.event.tenant
            if verifiers[tenant] == nil {
                verifiers[tenant] = AuditChain.Verifier(tenant: tenant, startSeq: record.seq, anchor: record.prevHash)
                order.append(tenant)
            }
            verifiers[tenant]!.check(record)
        }
        return order.map { verifiers[$0]!.report }
    }
}
