import CCurl
import FleetConcurrency
import Foundation
import Synchronization

/// Outbound HTTP through libcurl (OpenSSL): TLS verified against the system CA store,
/// `HTTPS_PROXY`/`NO_PROXY` honoured (libcurl reads them), HTTP/2 where the server offers it,
/// connections reused by keeping easy handles between requests. Transfers run on the blocking
/// executor's lanes, never on Swift's cooperative pool.
public final class CurlTransport: HTTPTransport, Sendable {
    private let executor: BlockingExecutor
    private let idle = Mutex<[CurlHandle]>([])
    private let maxIdle: Int
    private let userAgent: String

    /// - Parameter maxIdle: handles (and their connections) kept for reuse.
    public init(executor: BlockingExecutor = .shared, maxIdle: Int = 32, userAgent: String = "openclaw-fleet") {
        Self.globalInit
        self.executor = executor
        self.maxIdle = maxIdle
        self.userAgent = userAgent
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        let handle = idle.withLock { $0.popLast() } ?? CurlHandle(lane: executor.lane())
        let userAgent = self.userAgent
        let result = try await handle.lane.run { Result { try handle.perform(request, userAgent: userAgent) } }
        idle.withLock { handles in if handles.count < maxIdle { handles.append(handle) } }
        return try result.get()
    }
}

/// One easy handle with the lane it runs on. Its connection cache survives between requests.
final class CurlHandle: @unchecked Sendable {
    // @unchecked Sendable: `easy` is used only by work on `lane` (one item at a time), and a
    // handle is lent to one request at a time.
    let lane: BlockingLane
    private let easy: UnsafeMutableRawPointer?

    init(lane: BlockingLane) {
        self.lane = lane
        easy = curl_easy_init()
    }

    deinit { if let easy { curl_easy_cleanup(easy) } }

    /// What a transfer collects, reached from libcurl's callbacks.
    final class Sink {
        var body: [UInt8] = []
        var headers: [(name: String, value: String)] = []
        var limit: Int
        var tooLarge = false

        init(limit: Int) { self.limit = limit }
    }

    func perform(_ request: OutboundRequest, userAgent: String) throws -> OutboundResponse {
        guard let easy else { throw OutboundHTTPError(.transport, "libcurl could not create a handle") }
        curl_easy_reset(easy)
        let sink = Sink(limit: request.maxResponseBytes)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        for (name, value) in request.headers { list = curl_slist_append(list, "\(name): \(value)") }
        // An empty Expect stops libcurl from waiting for `100 Continue` before a body.
        list = curl_slist_append(list, "Expect:")
        request.url.withCString { _ = oc_curl_setopt_pointer(easy, CURLOPT_URL, $0) }
        request.method.withCString { _ = oc_curl_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, $0) }
        userAgent.withCString { _ = oc_curl_setopt_pointer(easy, CURLOPT_USERAGENT, $0) }
        "http,https".withCString { _ = oc_curl_setopt_pointer(easy, CURLOPT_PROTOCOLS_STR, $0) }
        "".withCString { _ = oc_curl_setopt_pointer(easy, CURLOPT_ACCEPT_ENCODING, $0) }
        _ = oc_curl_setopt_pointer(easy, CURLOPT_HTTPHEADER, list)
        if let body = request.body {
            _ = oc_curl_setopt_int64(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBytes {
                _ = oc_curl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1))
            }
        } else if request.method == "HEAD" {
            _ = oc_curl_setopt_long(easy, CURLOPT_NOBODY, 1)
        }
        _ = oc_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = oc_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        _ = oc_curl_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        _ = oc_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(max(1, request.timeout.wholeMilliseconds)))
        _ = oc_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(min(10_000, max(1, request.timeout.wholeMilliseconds))))
        _ = oc_curl_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteBody)
        _ = oc_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, context)
        _ = oc_curl_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader)
        _ = oc_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, context)
        let code = withExtendedLifetime(sink) { curl_easy_perform(easy) }
        guard code == CURLE_OK else {
            let text = String(cString: curl_easy_strerror(code))
            switch code {
            case CURLE_WRITE_ERROR where sink.tooLarge:
                throw OutboundHTTPError(
                    .tooLarge, "\(request.method) \(Self.redacted(request.url)): the answer is over \(request.maxResponseBytes) bytes")
            case CURLE_OPERATION_TIMEDOUT:
                throw OutboundHTTPError(.timeout, "\(request.method) \(Self.redacted(request.url)): no answer within \(request.timeout)")
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SSL_CONNECT_ERROR,
                CURLE_PEER_FAILED_VERIFICATION:
                throw OutboundHTTPError(.connect, "\(request.method) \(Self.redacted(request.url)): \(text)")
            default:
                throw OutboundHTTPError(.transport, "\(request.method) \(Self.redacted(request.url)): \(text)")
            }
        }
        var status = 0
        _ = oc_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return OutboundResponse(status: status, headers: sink.headers, body: sink.body)
    }

    /// The URL without its query (which may carry a secret), for messages.
    static func redacted(_ url: String) -> String { String(url.prefix { $0 != "?" }) }
}

private let curlWriteBody: oc_curl_data_callback = { data, size, count, context in
    let sink = Unmanaged<CurlHandle.Sink>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    if sink.body.count + length > sink.limit {
        sink.tooLarge = true
        return 0
    }
    if let data { sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
    return length
}

private let curlWriteHeader: oc_curl_data_callback = { data, size, count, context in
    let sink = Unmanaged<CurlHandle.Sink>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    guard let data else { return length }
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        // A new response (after 100 Continue or a proxy's CONNECT answer): its headers only.
        sink.headers.removeAll()
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces)
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        sink.headers.append((name, value))
    }
    return length
}

extension Duration {
    fileprivate var wholeMilliseconds: Int64 {
        let parts = components
        return parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    }
}
