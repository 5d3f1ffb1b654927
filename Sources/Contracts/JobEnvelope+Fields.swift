/// The envelope's Redis form: one field per property, always in the same order, so stream
/// entries share their field names (Redis then stores only the values) and a worker decodes an
/// entry without parsing JSON. `redis-cli XRANGE` shows it readably.
extension JobEnvelope {
    /// Field names, in the order they are written.
    public static let fieldNames: [String] = [
        "v", "id", "tenant", "kind", "action", "class", "user", "org", "team", "roles", "request", "idem",
        "attempt", "enqueued", "run_at", "traceparent", "tracestate", "decision", "policy", "reason",
        "disclosure", "max_class", "transitions", "payload",
    ]

    /// The values of every field but `payload`, in `fieldNames` order.
    public var fieldValues: [String] {
        [
            "1", id, tenant.rawValue, kind.rawValue, action, classification.rawValue, requester.user, requester.org,
            requester.team, requester.roles.joined(separator: ","), requestID, idempotencyKey ?? "", String(attempt),
            String(enqueuedAt), runAt.map { String($0) } ?? "", trace?.traceparent ?? "", trace?.tracestate ?? "",
            admission?.decision.rawValue ?? "", admission?.policyApplied ?? "", admission?.reason ?? "",
            admission?.constraints.disclosureRequired == true ? "1" : "0",
            admission?.constraints.maxClassification?.rawValue ?? "",
            admission?.constraints.allowedTransitions.joined(separator: ",") ?? "",
        ]
    }

    /// Field/value pairs flattened for `XADD` or `HSET` (payload last).
    public var fields: [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(Self.fieldNames.count * 2)
        for (name, value) in zip(Self.fieldNames, fieldValues) {
            out.append(Array(name.utf8))
            out.append(Array(value.utf8))
        }
        out.append(Array("payload".utf8))
        out.append(payload)
        return out
    }

    /// Decodes an envelope from the field/value pairs of a stream entry or hash.
    ///
    /// Throws `FleetError.invalidJob` naming the first missing or malformed field, so a poison
    /// entry can be dead-lettered with a useful reason.
    public init(fields pairs: some Sequence<([UInt8], [UInt8])>) throws(FleetError) {
        var values: [String: [UInt8]] = [:]
        values.reserveCapacity(Self.fieldNames.count)
        for (name, value) in pairs { values[String(decoding: name, as: UTF8.self)] = value }
        func text(_ name: String) -> String? { values[name].map { String(decoding: $0, as: UTF8.self) } }
        func required(_ name: String) throws(FleetError) -> String {
            guard let value = text(name), !value.isEmpty else {
                throw FleetError(.invalidJob, "job entry lacks field '\(name)'")
            }
            return value
        }
        guard text("v") == "1" else {
            throw FleetError(.invalidJob, "job entry has unsupported format version '\(text("v") ?? "")'")
        }
        let tenant = try TenantID(try required("tenant"))
        let kind = try JobKind(try required("kind"))
        guard let attempt = Int(try required("attempt")), attempt >= 1 else {
            throw FleetError(.invalidJob, "job entry has a malformed attempt")
        }
        guard let enqueued = Int64(try required("enqueued")) else {
            throw FleetError(.invalidJob, "job entry has a malformed enqueued time")
        }
        let runAtText = text("run_at") ?? ""
        let runAt = runAtText.isEmpty ? nil : Int64(runAtText)
        let roles = text("roles") ?? ""
        let traceparent = text("traceparent") ?? ""
        var admission: PolicyDecision?
        if let decision = text("decision"), let outcome = PolicyDecision.Outcome(rawValue: decision) {
            let maxClass = text("max_class") ?? ""
            let transitions = text("transitions") ?? ""
            admission = PolicyDecision(
                decision: outcome, policyApplied: text("policy") ?? "", reason: text("reason") ?? "",
                constraints: .init(
                    disclosureRequired: text("disclosure") == "1",
                    maxClassification: maxClass.isEmpty ? nil : Classification(parsing: maxClass),
                    allowedTransitions: transitions.isEmpty ? [] : transitions.split(separator: ",").map(String.init)))
        }
        let idem = text("idem") ?? ""
        self.init(
            id: try required("id"), tenant: tenant, kind: kind, action: try required("action"),
            payload: values["payload"] ?? Array("{}".utf8),
            classification: Classification(parsing: text("class")),
            requester: Requester(
                user: text("user") ?? "", org: text("org") ?? "", team: text("team") ?? "",
                roles: roles.isEmpty ? [] : roles.split(separator: ",").map(String.init)),
            requestID: text("request") ?? "", idempotencyKey: idem.isEmpty ? nil : idem, attempt: attempt,
            enqueuedAt: enqueued, runAt: runAt,
            trace: traceparent.isEmpty ? nil : TraceContext(traceparent: traceparent, tracestate: text("tracestate") ?? ""),
            admission: admission)
    }
}
