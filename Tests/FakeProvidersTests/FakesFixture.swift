import Foundation
import OutboundHTTP
import TestSupport
import Testing

@testable import FakeProviders

/// A running set of fakes inside the test process, with a libcurl client and helpers for the
/// control API.
struct Fakes {
    let urls: FakeProviderURLs
    let handle: FakeProvidersHandle
    let http = CurlTransport(userAgent: "fake-providers-tests")

    /// Starts the fakes on free ports; limits stay on unless `configure` turns them off.
    static func start(_ configure: (inout FakeProvidersConfiguration) -> Void = { _ in }) async throws -> Fakes {
        var configuration = FakeProvidersConfiguration()
        configuration.gmailMessages = 60
        configuration.gmailMessagesOtherUsers = 20
        configuration.jiraIndexDelayMillis = 0
        configuration.logLevel = "warning"
        configure(&configuration)
        let (urls, handle) = try await FakeProvidersServer.start(configuration, logger: TestEnvironment.logger)
        return Fakes(urls: urls, handle: handle)
    }

    func stop() async { await handle.stop() }

    /// One exchange; `json` is sent as the body with `Content-Type: application/json`.
    func send(
        _ method: String, _ url: String, token: String? = nil, json: JSON? = nil, body: [UInt8]? = nil,
        headers: [(name: String, value: String)] = []
    ) async throws -> OutboundResponse {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        var payload = body
        if let json {
            all.append(("Content-Type", "application/json"))
            payload = JSONWriter.bytes(json)
        }
        return try await http.send(OutboundRequest(method: method, url: url, headers: all, body: payload, timeout: .seconds(20)))
    }

    func get(_ url: String, token: String? = nil, headers: [(name: String, value: String)] = []) async throws -> OutboundResponse {
        try await send("GET", url, token: token, headers: headers)
    }

    /// A control call that must succeed; returns its JSON.
    @discardableResult
    func control(_ method: String, _ path: String, _ body: JSON? = nil) async throws -> JSON {
        let response = try await send(
            method, urls.control + path, json: body ?? (method == "GET" || method == "DELETE" ? nil : .object([])))
        #expect(response.status == 200, "control \(method) \(path): \(String(decoding: response.body, as: UTF8.self))")
        return try JSONParser.parse(response.body)
    }

    /// An access token for `user` without the OAuth dance.
    func token(_ provider: String, _ user: String = "alice@acme.test", scopes: [String]? = nil) async throws -> String {
        var body: [(String, JSON)] = [("provider", .string(provider)), ("user", .string(user))]
        if let scopes { body.append(("scopes", .array(scopes.map { .string($0) }))) }
        return try await control("POST", "/control/tokens/issue", .object(body))["access_token"]?.stringValue ?? ""
    }
}

extension OutboundResponse {
    /// The body as JSON (`.null` when it is not JSON).
    var json: JSON { (try? JSONParser.parse(body)) ?? .null }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Query-string encoding for test URLs.
func query(_ pairs: [(String, String)]) -> String { "?" + PercentEncoding.form(pairs) }
