import Foundation
import Hummingbird
import OutboundHTTP
import Synchronization
import TestSupport
import Testing

/// libcurl against a local server: methods, headers and bodies both ways, status codes,
/// timeouts, size limits, refused connections, and reuse of a handle across requests.
@Suite struct CurlTransportTests {
    /// A server on a port of its own choosing; returns its base URL.
    static func server() async throws -> (url: String, task: Task<Void, any Error>) {
        let router = Router()
        router.post("echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: HTTPFields = [.contentType: "application/octet-stream"]
            headers[.init("X-Seen-Token")!] = request.headers[.authorization] ?? ""
            return Response(status: .created, headers: headers, body: .init(byteBuffer: body))
        }
        router.get("limited") { _, _ in
            Response(status: .tooManyRequests, headers: [.retryAfter: "7"], body: .init(byteBuffer: ByteBuffer(string: "slow down")))
        }
        router.get("slow") { _, _ -> String in
            try await Task.sleep(for: .seconds(2))
            return "late"
        }
        router.get("big") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 65, count: 100_000))) }
        return try await startTestServer(router)
    }

    @Test func requestsAndAnswersGoThroughWhole() async throws {
        let (url, server) = try await Self.server()
        defer { server.cancel() }
        let transport = CurlTransport()
        let payload = Array((0..<5000).map { UInt8($0 % 251) })
        for _ in 0..<3 {
            let response = try await transport.send(
                OutboundRequest(method: "POST", url: url + "/echo", headers: [("Authorization", "Bearer t0k3n")], body: payload))
            #expect(response.status == 201)
            #expect(response.body == payload)
            #expect(response.header("x-seen-token") == "Bearer t0k3n")
        }
        let limited = try await transport.send(OutboundRequest(url: url + "/limited"))
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "7")
        #expect(String(decoding: limited.body, as: UTF8.self) == "slow down")
    }

    @Test func timeoutsLimitsAndRefusalsAreTheirOwnErrors() async throws {
        let (url, server) = try await Self.server()
        defer { server.cancel() }
        let transport = CurlTransport()
        await #expect {
            _ = try await transport.send(OutboundRequest(url: url + "/slow", timeout: .milliseconds(300)))
        } throws: { ($0 as? OutboundHTTPError)?.kind == .timeout }
        await #expect {
            _ = try await transport.send(OutboundRequest(url: url + "/big", maxResponseBytes: 10_000))
        } throws: { ($0 as? OutboundHTTPError)?.kind == .tooLarge }
        await #expect {
            _ = try await transport.send(OutboundRequest(url: "http://127.0.0.1:1/nothing?secret=x", timeout: .seconds(60)))
        } throws: { error in
            guard let error = error as? OutboundHTTPError else { return false }
            return error.kind == .connect && !error.message.contains("secret")
        }
    }
}
