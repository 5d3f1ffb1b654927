import Contracts
import Foundation
import OutboundHTTP

/// What went wrong talking to a provider, as what to do about it (the one error model of the
/// connectors): refresh the access token, come back later without holding a worker, sync
/// everything again, retry with backoff, or give up (a request that will not work, or an
/// account that needs the user to connect it again).
public enum ConnectorFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case refreshToken
    case reschedule(after: Duration)
    case resync
    /// The item asked for is gone.
    case notFound(String)
    case retry(String)
    case fail(String)
    /// The grant is revoked or invalid: the user must connect the account again.
    case reauthRequired(String)

    public var description: String {
        switch self {
        case .refreshToken: "the access token was refused"
        case .reschedule(let after): "the provider asked to slow down for \(after)"
        case .resync: "the sync cursor is no longer valid"
        case .notFound(let why), .retry(let why), .fail(let why), .reauthRequired(let why): why
        }
    }
}

/// A provider's answer with the failures it means already sorted out.
public struct ProviderSession: Sendable {
    public let http: any HTTPTransport
    public var accessToken: String
    /// Asked before every request: how long to wait when the tenant's budget for this connector
    /// is spent (nil: go ahead).
    let budget: @Sendable () async throws -> Duration?
    /// Extra headers every request carries (GitHub's `Accept`, API version, `User-Agent`).
    let headers: [(name: String, value: String)]

    public init(
        http: any HTTPTransport, accessToken: String, headers: [(name: String, value: String)] = [],
        budget: @escaping @Sendable () async throws -> Duration? = { nil }
    ) {
        self.http = http
        self.accessToken = accessToken
        self.headers = headers
        self.budget = budget
    }

    /// Sends `request` with the access token; returns a success (2xx, or 304 for a conditional
    /// request) or throws what to do.
    /// - Parameter cursorRequest: the request carries a sync cursor (a 404 then means it expired).
    public func send(_ request: OutboundRequest, cursorRequest: Bool = false) async throws(ConnectorFailure) -> OutboundResponse {
        let wait: Duration?
        do { wait = try await budget() } catch { throw .retry("the connector budget cannot be counted: \(error)") }
        if let wait { throw .reschedule(after: wait) }
        var request = request
        request.headers = headers + [("Authorization", "Bearer \(accessToken)")] + request.headers
        let response: OutboundResponse
        do {
            response = try await http.send(request)
        } catch {
            throw .retry("\(request.method) \(Self.redacted(request.url)): \(error)")
        }
        try Self.check(response, of: "\(request.method) \(Self.redacted(request.url))", cursorRequest: cursorRequest)
        return response
    }

    /// Throws what a response that is not a success means (`call` names the request).
    static func check(_ response: OutboundResponse, of call: String, cursorRequest: Bool = false) throws(ConnectorFailure) {
        switch ProviderOutcome(response, cursorRequest: cursorRequest) {
        case .success: return
        case .refreshToken: throw .refreshToken
        case .reschedule(let after): throw .reschedule(after: after)
        case .resync: throw .resync
        case .notFound: throw .notFound("\(call) answered 404")
        case .retry: throw .retry("\(call) answered \(response.status)")
        case .fail: throw .fail("\(call) answered \(response.status): \(Self.excerpt(response))")
        }
    }

    /// GETs each of `targets` (a path and query on `host`) in one Google batch exchange
    /// (`POST host + batchPath`, at most `GoogleBatch.maxCalls` calls). Every call counts against
    /// the budget, and each answer is sorted out as `send` does, except that a 404 comes back as
    /// nil (the item is gone).
    public func batchGet(host: String, batchPath: String, _ targets: [String]) async throws(ConnectorFailure) -> [OutboundResponse?] {
        precondition(targets.count <= GoogleBatch.maxCalls, "a Google batch holds at most \(GoogleBatch.maxCalls) calls")
        guard !targets.isEmpty else { return [] }
        // `send` counts the first call.
        for _ in targets.dropFirst() {
            let wait: Duration?
            do { wait = try await budget() } catch { throw .retry("the connector budget cannot be counted: \(error)") }
            if let wait { throw .reschedule(after: wait) }
        }
        let boundary = "batch_openclaw_\(UInt64.random(in: 1...UInt64.max))"
        let response = try await send(
            OutboundRequest(
                method: "POST", url: host + batchPath, headers: [("Content-Type", "multipart/mixed; boundary=\(boundary)")],
                body: GoogleBatch.body(gets: targets, boundary: boundary)))
        guard let answers = GoogleBatch.answers(response, calls: targets.count) else {
            throw .retry("POST \(batchPath) answered what is not a batch response")
        }
        var results: [OutboundResponse?] = []
        results.reserveCapacity(targets.count)
        for (target, answer) in zip(targets, answers) {
            guard let answer else { throw .retry("POST \(batchPath) left GET \(Self.redacted(target)) unanswered") }
            do {
                try Self.check(answer, of: "GET \(Self.redacted(target)) (batched)")
                results.append(answer)
            } catch {
                guard case .notFound = error else { throw error }
                results.append(nil)
            }
        }
        return results
    }

    /// GETs every one of `targets` in batches of `batchSize`, `concurrency` batches in flight at
    /// once; each answer (nil: the item is gone) is turned into a result by `transform`, in the
    /// batch's task, and the results come back in the order of `targets`.
    public func batchGetAll<T: Sendable>(
        host: String, batchPath: String, _ targets: [String], batchSize: Int, concurrency: Int,
        _ transform: @escaping @Sendable (Int, OutboundResponse?) throws(ConnectorFailure) -> T
    ) async throws(ConnectorFailure) -> [T] {
        let size = min(max(1, batchSize), GoogleBatch.maxCalls)
        let starts = Array(stride(from: 0, to: targets.count, by: size))
        do {
            return try await withThrowingTaskGroup(of: (Int, [T]).self) { group in
                var results = [[T]](repeating: [], count: starts.count)
                var next = 0
                func add() {
                    let (index, start) = (next, starts[next])
                    let chunk = Array(targets[start..<min(start + size, targets.count)])
                    next += 1
                    group.addTask {
                        let answers = try await batchGet(host: host, batchPath: batchPath, chunk)
                        var out: [T] = []
                        out.reserveCapacity(chunk.count)
                        for (offset, answer) in answers.enumerated() { out.append(try transform(start + offset, answer)) }
                        return (index, out)
                    }
                }
                for _ in 0..<min(max(1, concurrency), starts.count) { add() }
                while let (index, out) = try await group.next() {
                    results[index] = out
                    if next < starts.count { add() }
                }
                return results.flatMap { $0 }
            }
        } catch let failure as ConnectorFailure {
            throw failure
        } catch {
            throw .retry("\(error)")
        }
    }

    /// GETs `url` and decodes the JSON answer.
    public func get<T: Decodable>(
        _ url: String, as type: T.Type, headers: [(name: String, value: String)] = [], cursorRequest: Bool = false
    ) async throws(ConnectorFailure) -> T {
        let response = try await send(OutboundRequest(url: url, headers: headers), cursorRequest: cursorRequest)
        return try Self.decode(T.self, response, from: url)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ response: OutboundResponse, from url: String) throws(ConnectorFailure) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw .fail("\(redacted(url)) answered what is not a \(T.self): \(error)")
        }
    }

    /// The URL without its query (which may carry a token or a cursor), for messages.
    public static func redacted(_ url: String) -> String { String(url.prefix { $0 != "?" }) }

    /// The start of an error body, for messages (providers' error bodies carry no secrets).
    static func excerpt(_ response: OutboundResponse) -> String {
        String(decoding: response.body.prefix(300), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
    }
}

/// Query strings, percent-encoded as RFC 3986 unreserved characters allow.
public enum Query {
    /// Percent-encodes everything but RFC 3986's unreserved characters (ASCII letters, digits,
    /// `-._~`), byte by byte of the UTF-8.
    public static func encode(_ value: String) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func string(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { name, value in value.map { "\(encode(name))=\(encode($0))" } }.joined(separator: "&")
    }

    /// A form body (`application/x-www-form-urlencoded`).
    public static func form(_ pairs: [(String, String?)]) -> [UInt8] { Array(string(pairs).utf8) }
}
