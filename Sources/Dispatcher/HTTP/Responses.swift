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
