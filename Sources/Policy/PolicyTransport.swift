import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOHTTP1

/// How the fleet reaches the OPA engine: over OPA's REST API (a sidecar in production, the local
/// engine in development) or in process through the engine's C library. `PolicyEngineClient`
/// holds one and does everything above it (the cache, fail-closed answers, readiness) the
/// same way for both.
public protocol PolicyTransport: Sendable {
    /// The document at `data.<path>` (segments joined with `/`) evaluated with `input` (JSON);
    /// nil when it is undefined.
    func evaluate(_ path: String, input: [UInt8]?) async throws -> JSONValue?
    /// Replaces the Rego module `id`.
    func putPolicy(id: String, source: String) async throws
    /// Replaces the document at `data.<path>` (segments joined with `/`).
    func putData(path: String, json: [UInt8]) async throws
    /// Whether the engine answers at all (what it holds is the caller's question).
    func isAlive() async -> Bool
    /// Where the engine is, for logs and errors.
    var location: String { get }
    func shutdown() async
}

/// An engine the fleet cannot use: every call fails with why.
struct PolicyTransportFailure: Error, CustomStringConvertible {
    let description: String
}

/// OPA's REST API: `POST /v1/data/<path>`, `PUT /v1/policies/<id>`, `PUT /v1/data/<path>`,
/// `GET /health`.
public final class RESTPolicyTransport: PolicyTransport {
    public let baseURL: String
    let http: HTTPClient
    let timeout: TimeAmount
    private let ownsClient: Bool

    /// - Parameters:
    ///   - baseURL: e.g. `http://127.0.0.1:8181`.
    ///   - timeout: longest wait for one answer, connecting included.
    public init(baseURL: String, timeout: Duration, httpClient: HTTPClient? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        configuration.timeout = .init(connect: .milliseconds(timeout.milliseconds), read: .milliseconds(timeout.milliseconds))
        http = httpClient ?? HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        ownsClient = httpClient == nil
        self.timeout = .milliseconds(timeout.milliseconds)
    }

    public var location: String { baseURL }

    public func shutdown() async {
        if ownsClient { try? await http.shutdown() }
    }

    public func evaluate(_ path: String, input: [UInt8]?) async throws -> JSONValue? {
        var request = HTTPClientRequest(url: baseURL + "/v1/data/" + path)
        if let input {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Array(#"{"input":"#.utf8) + input + [UInt8(ascii: "}")]))
        } else {
            request.method = .GET
        }
        let response = try await http.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw PolicyTransportFailure(description: "the policy engine answered \(response.status.code)")
        }
        // OPA answers `{"result": …}`, without `result` when the document is undefined.
        guard case .object(let reply)? = JSONValue.parse(body.readableBytesView) else {
            throw PolicyTransportFailure(description: "the policy engine answered something that is not a JSON object")
        }
        guard let result = reply["result"], result != .null else { return nil }
        return result
    }

    public func putPolicy(id: String, source: String) async throws {
        try await send(.PUT, "/v1/policies/" + id, body: ByteBuffer(string: source), contentType: "text/plain")
    }

    public func putData(path: String, json: [UInt8]) async throws {
        try await send(.PUT, "/v1/data/" + path, body: ByteBuffer(bytes: json), contentType: "application/json")
    }

    public func isAlive() async -> Bool {
        var request = HTTPClientRequest(url: baseURL + "/health")
        request.method = .GET
        let response = try? await http.execute(request, timeout: timeout)
        _ = try? await response?.body.collect(upTo: 1 << 16)
        return response?.status == .ok
    }

    private func send(_ method: HTTPMethod, _ path: String, body: ByteBuffer, contentType: String) async throws {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(body)
        let response = try await http.execute(request, timeout: .seconds(10))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw PolicyTransportFailure(description: "\(method) \(path): \(response.status.code) \(String(buffer: answer))")
        }
    }
}
