import Contracts
import Foundation
import Hummingbird

/// Typed JSON answers: every route encodes an `Encodable` response type with the same encoder
/// (keys sorted, slashes unescaped).
enum JSONResponse {
    static func make<Body: Encodable>(_ status: HTTPResponse.Status, _ body: Body, location: String? = nil) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers: HTTPFields = [.contentType: "application/json"]
        if let location { headers[.location] = location }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(body))))
    }
}

/// Request bodies: collected up to the limit, parsed strictly as a JSON object.
enum RequestBody {
    /// The body as a JSON object with only `allowed` fields (`shape` names them in messages).
    static func object(
        _ request: Request, limit: Int, allowed: Set<String>, shape: String
    ) async throws -> [String: JSONValue] {
        let body = try await request.body.collect(upTo: limit)
        guard let object = JSONValue.parse(body.readableBytesView)?.objectValue else {
            throw FleetError(.malformedJSON, "the body must be a JSON object \(shape)")
        }
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
