import Foundation
import Synchronization

/// One listener's behaviour: answers a request. Faults, logging and the HTTP server wrap it.
protocol FakeService: Sendable {
    func respond(to request: ProviderRequest) async -> ProviderResponse
}

/// The base URL of every listener, known once each has bound its port (before any request can
/// arrive), for links the fakes write into answers (`self`, `link`, `url`).
final class BaseURLs: Sendable {
    private let urls = Mutex<[ServiceKind: String]>([:])

    func set(_ kind: ServiceKind, _ url: String) { urls.withLock { $0[kind] = url } }

    subscript(kind: ServiceKind) -> String { urls.withLock { $0[kind] } ?? "http://127.0.0.1" }

    var all: [ServiceKind: String] { urls.withLock { $0 } }
}

/// Small HTML pages of the authorization servers' error screens.
enum ErrorPage {
    static func html(status: Int, title: String, detail: String) -> ProviderResponse {
        let escaped = detail.replacingOccurrences(of: "<", with: "&lt;")
        let page = "<!DOCTYPE html><html><head><title>\(title)</title></head><body><h1>\(title)</h1><p>\(escaped)</p></body></html>"
        return .text(page, status: status, contentType: "text/html; charset=utf-8")
    }
}
