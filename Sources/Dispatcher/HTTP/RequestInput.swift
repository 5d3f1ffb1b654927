import Contracts
import Foundation
import Hummingbird

/// How much body a request may send (how long it may take is `BodyDeadlineHandler`'s).
struct BodyLimits: Sendable {
    var maxBytes: Int
}

/// Request bodies: collected up to the limit, parsed strictly as a JSON object.
enum RequestBody {
    /// The body, at most `limits.maxBytes`: a declared length over the limit is refused at once
    /// (413). A body that does not arrive in time is answered 408 by `BodyDeadlineHandler`,
    /// which closes the connection; the read then ends here.
    static func collect(_ request: Request, _ limits: BodyLimits) async throws -> ByteBuffer {
        let limit = limits.maxBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw FleetError(.bodyTooLarge, "the body is \(declared) bytes; the limit is \(limit)")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            throw FleetError(.requestTimeout, "the connection ended before the body arrived in full")
        }
    }

    /// The body as a JSON object with only `allowed` fields (`shape` names them in messages);
    /// with `emptyAllowed`, no body at all reads as `{}`.
    static func object(
        _ request: Request, _ limits: BodyLimits, allowed: Set<String>, shape: String, emptyAllowed: Bool = false
    ) async throws -> [String: JSONValue] {
        let body = try await collect(request, limits)
        if emptyAllowed && body.readableBytesView.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) { return [:] }
        guard let value = JSONValue.parse(body.readableBytesView), let object = value.objectValue else {
            throw FleetError(.malformedJSON, "the body must be a JSON object \(shape)")
        }
        try value.refuseUnstorableText()
        let unknown = Set(object.keys).subtracting(allowed)
        guard unknown.isEmpty else {
            throw FleetError(
                .unknownField,
                "unknown field(s) \(unknown.sorted().joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        return object
    }
}

/// Request ids, idempotency keys and trace context from headers.
enum RequestIDs {
    static func from(_ request: Request) -> String {
        if let given = request.headers[.init("X-Request-Id")!], given.utf8.count <= 64,
            given.utf8.allSatisfy({ $0 > 32 && $0 < 127 })
        {
            return given
        }
        return JobID.make()
    }

    /// The caller's `Idempotency-Key`, made the caller's own: the same key from another user of
    /// the tenant is another key.
    static func idempotencyKey(_ request: Request, user: String) throws(FleetError) -> String? {
        guard let key = request.headers[.init("Idempotency-Key")!] else { return nil }
        guard (1...200).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw .invalidRequest("Idempotency-Key must be 1-200 printable ASCII characters")
        }
        return "\(user.utf8.count):\(user):\(key)"
    }

    static func trace(_ request: Request) -> TraceContext? {
        guard let parent = request.headers[.init("traceparent")!], parent.utf8.count <= 128 else { return nil }
        return TraceContext(traceparent: parent, tracestate: String((request.headers[.init("tracestate")!] ?? "").prefix(256)))
    }
}

/// Path and query parameters, checked before they reach a store: bounded, without control
/// characters, ids in their format.
enum Parameter {
    /// A query parameter of at most `maxBytes` without control characters (nil when absent).
    static func text(_ request: Request, _ name: String, maxBytes: Int = 256) throws(FleetError) -> String? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        guard value.utf8.count <= maxBytes, !value.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) else {
            throw .invalidRequest("\(name) must be at most \(maxBytes) bytes without control characters")
        }
        return value
    }

    /// A whole-number query parameter within `range` (nil when absent).
    static func integer(_ request: Request, _ name: String, in range: ClosedRange<Int>) throws(FleetError) -> Int? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw .invalidRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// An object id from the path (a ULID); anything else names no object of the tenant.
    static func id(_ context: GatewayContext, _ what: String) throws(FleetError) -> String {
        let id = context.parameter("id")
        guard JobID.isValid(id) else { throw .notFound("no \(what) \(id.prefix(40).filter { $0.isLetter || $0.isNumber })") }
        return id
    }
}
