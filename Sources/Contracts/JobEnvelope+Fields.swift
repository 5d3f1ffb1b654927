/// The envelope's Redis form: two fields, `e` (the metadata, length-prefixed) and `p` (the raw
/// payload). Two fields keep `XADD`/`XREADGROUP` cheap for Redis and a worker decodes an entry
/// without parsing JSON; the metadata stays readable in `redis-cli XRANGE`:
/// `1|26:01J...|4:acme|4:noop|...`.
extension JobEnvelope {
    /// Metadata values in the order they are encoded.
    static let headerNames: [String] = [
        "id", "tenant", "kind", "action", "class", "user", "org", "team", "roles", "request", "idem", "attempt", "enqueued",
        "run_at", "traceparent", "tracestate", "decision", "policy", "reason", "disclosure", "max_class", "transitions", "replay",
    ]

    /// The metadata field (`e`).
    public var header: [UInt8] {
        let values: [String] = [
            id, tenant.rawValue, kind.rawValue, action.rawValue, classification.rawValue, requester.user, requester.org, requester.team,
            requester.roles.map(\.rawValue).joined(separator: ","), requestID, idempotencyKey ?? "", String(attempt), String(enqueuedAt),
            runAt.map { String($0) } ?? "", trace?.traceparent ?? "", trace?.tracestate ?? "",
            admission?.decision.rawValue ?? "", admission?.policyApplied ?? "", admission?.reason ?? "",
            admission?.constraints.disclosureRequired == true ? "1" : "0",
            admission?.constraints.maxClassification?.rawValue ?? "",
            admission?.constraints.allowedTransitions.joined(separator: ",") ?? "", replay > 0 ? String(replay) : "",
        ]
        var out: [UInt8] = [UInt8(ascii: "1")]
        out.reserveCapacity(values.reduce(8) { $0 + $1.utf8.count + 4 })
        for value in values {
            out.append(UInt8(ascii: "|"))
            out.append(contentsOf: String(value.utf8.count).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: value.utf8)
        }
        return out
    }

    /// Field/value pairs flattened for `XADD` or `HSET`: `e`, header, `p`, payload.
    public var fields: [[UInt8]] { [[UInt8(ascii: "e")], header, [UInt8(ascii: "p")], payload] }

    /// Decodes an envelope from the field/value pairs of a stream entry or hash.
    ///
    /// Throws `FleetError.invalidJob` naming what is missing or malformed, so a poison entry can
    /// be dead-lettered with a useful reason.
    public init(fields pairs: some Sequence<([UInt8], [UInt8])>) throws(FleetError) {
        var header: [UInt8]?
        var payload: [UInt8]?
        for (name, value) in pairs {
            if name.count == 1 && name[0] == UInt8(ascii: "e") {
                header = value
            } else if name.count == 1 && name[0] == UInt8(ascii: "p") {
                payload = value
            }
        }
        guard let header else { throw FleetError(.invalidJob, "job entry lacks field 'e' (the envelope)") }
        try self.init(header: header, payload: payload ?? Array("{}".utf8))
    }

    /// Decodes an envelope from its header (`e`) and payload (`p`).
    public init(header: [UInt8], payload: [UInt8]) throws(FleetError) {
        guard header.first == UInt8(ascii: "1") else {
            throw FleetError(.invalidJob, "job entry has an unsupported envelope format")
        }
        var values: [String] = []
        values.reserveCapacity(Self.headerNames.count)
        var index = 1
        while index < header.count {
            guard header[index] == UInt8(ascii: "|") else { throw FleetError(.invalidJob, "job envelope is malformed at byte \(index)") }
            index += 1
            var length = 0
            while index < header.count, header[index] != UInt8(ascii: ":") {
                let digit = Int(header[index]) - 48
                guard digit >= 0 && digit <= 9, length < 10_000_000 else {
                    throw FleetError(.invalidJob, "job envelope has a bad length at byte \(index)")
                }
                length = length * 10 + digit
                index += 1
            }
            index += 1
            guard index + length <= header.count else { throw FleetError(.invalidJob, "job envelope is truncated") }
            values.append(String(decoding: header[index..<index + length], as: UTF8.self))
            index += length
        }
        // Entries written before replays were counted have one field less.
        if values.count == Self.headerNames.count - 1 { values.append("") }
        guard values.count == Self.headerNames.count else {
            throw FleetError(.invalidJob, "job envelope has \(values.count) fields, expected \(Self.headerNames.count)")
        }
        func required(_ position: Int) throws(FleetError) -> String {
            guard !values[position].isEmpty else { throw FleetError(.invalidJob, "job envelope lacks '\(Self.headerNames[position])'") }
            return values[position]
        }
        let tenant = try TenantID(try required(1))
        let kind = try JobKind(try required(2))
        guard let attempt = Int(try required(11)), attempt >= 1 else {
            throw FleetError(.invalidJob, "job envelope has a malformed attempt")
        }
        guard let enqueued = Int64(try required(12)) else { throw FleetError(.invalidJob, "job envelope has a malformed enqueued time") }
        let action: Action
        do { action = try Action(try required(3)) } catch { throw FleetError(.invalidJob, "job envelope has a malformed action") }
        var admission: PolicyDecision?
        if let outcome = PolicyDecision.Outcome(rawValue: values[16]) {
            admission = PolicyDecision(
                decision: outcome, policyApplied: values[17], reason: values[18],
                constraints: .init(
                    disclosureRequired: values[19] == "1",
                    maxClassification: values[20].isEmpty ? nil : Classification(parsing: values[20]),
                    allowedTransitions: values[21].isEmpty ? [] : values[21].split(separator: ",").map(String.init)))
        }
        self.init(
            id: try required(0), tenant: tenant, kind: kind, action: action, payload: payload,
            classification: Classification(parsing: values[4]),
            requester: Requester(
                user: values[5], org: values[6], team: values[7],
                roles: values[8].split(separator: ",").compactMap { Role(rawValue: String($0)) }),
            requestID: values[9], idempotencyKey: values[10].isEmpty ? nil : values[10], attempt: attempt,
            replay: Int(values[22]) ?? 0, enqueuedAt: enqueued,
            runAt: values[13].isEmpty ? nil : Int64(values[13]),
            trace: values[14].isEmpty ? nil : TraceContext(traceparent: values[14], tracestate: values[15]), admission: admission)
    }
}
