/// One answer of a fake: status, headers and body bytes.
struct ProviderResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// Set by fault injection: hold the connection this long, then close it without an answer.
    var dropConnection = false

    init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer (`application/json; charset=UTF-8`, as Google writes it).
    static func json(_ value: JSON, status: Int = 200, contentType: String = "application/json; charset=UTF-8") -> ProviderResponse {
        ProviderResponse(status: status, headers: [("Content-Type", contentType)], body: JSONWriter.bytes(value))
    }

    /// Pre-serialized JSON.
    static func jsonBytes(
        _ bytes: [UInt8], status: Int = 200, contentType: String = "application/json; charset=UTF-8"
    )
        -> ProviderResponse
    {
        ProviderResponse(status: status, headers: [("Content-Type", contentType)], body: bytes)
    }

    static func text(_ text: String, status: Int, contentType: String = "text/plain; charset=utf-8") -> ProviderResponse {
        ProviderResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }

    static func empty(_ status: Int) -> ProviderResponse { ProviderResponse(status: status) }

    static func redirect(_ location: String) -> ProviderResponse {
        ProviderResponse(status: 302, headers: [("Location", location), ("Content-Type", "text/html; charset=UTF-8")])
    }

    /// The first value of header `name` (case-insensitive).
    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }

    /// Adds or replaces a header.
    mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }
}

/// A route pattern such as `/gmail/v1/users/{userId}/messages/{id}` and its handler.
struct Route<Handler: Sendable>: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter
    }

    let method: String
    let segments: [Segment]
    let handler: Handler

    init(_ method: String, _ pattern: String, _ handler: Handler) {
        self.method = method
        segments = pattern.split(separator: "/").map { $0.hasPrefix("{") ? .parameter : .literal(String($0)) }
        self.handler = handler
    }

    /// The parameters when `path` matches (ignoring the method).
    func match(_ path: [String], from offset: Int = 0) -> [String]? {
        guard path.count - offset == segments.count else { return nil }
        var parameters: [String] = []
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .literal(let text): if path[offset + index] != text { return nil }
            case .parameter: parameters.append(path[offset + index])
            }
        }
        return parameters
    }
}

/// Dispatch over a list of routes: the matching route's handler, or 404/405 answers.
struct RouteTable<Handler: Sendable>: Sendable {
    let routes: [Route<Handler>]

    enum Outcome {
        case found(Handler, [String])
        case methodNotAllowed
        case notFound
    }

    func resolve(_ request: ProviderRequest, offset: Int = 0) -> Outcome {
        var pathMatched = false
        for route in routes {
            guard let parameters = route.match(request.segments, from: offset) else { continue }
            if route.method == request.method { return .found(route.handler, parameters) }
            pathMatched = true
        }
        return pathMatched ? .methodNotAllowed : .notFound
    }
}
