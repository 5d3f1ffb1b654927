import ArgumentParser
import CEventPoll
import Foundation
import Glibc

/// `Bench gateway-latency`: offers `POST /v1/jobs` at a fixed rate and reports latency
/// percentiles. Open loop, like wrk2: request *i* is due at `start + i/rate` whether or not earlier
/// ones finished, and its latency counts from when it was due, so a request that waits for a free
/// connection in the generator is charged that wait (no coordinated omission). One thread, epoll
/// and keep-alive connections, so the generator takes little of the CPU it shares with the
/// system it measures.
struct GatewayLatency: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway-latency", abstract: "Fixed-rate latency of POST /v1/jobs.")

    @Option(help: "Gateway base URL (http://HOST:PORT, HOST an IPv4 address or localhost).") var url: String
    @Option(help: "Bearer token.") var token: String
    @Option(help: "Requests per second offered.") var rate: Int = 5000
    @Option(help: "Seconds to run.") var seconds: Int = 10
    @Option(help: "Keep-alive connections (the most requests in flight at once).") var connections: Int = 256
    @Option(help: "Body of each request.") var body: String = #"{"kind":"noop","action":"noop.run"}"#

    func validate() throws {
        guard rate > 0, seconds > 0, (1...4096).contains(connections) else {
            throw ValidationError("--rate and --seconds must be positive and --connections 1-4096")
        }
    }

    func run() throws {
        let (host, port) = try Self.address(url)
        let request = Array(
            ("POST /v1/jobs HTTP/1.1\r\nHost: \(host):\(port)\r\nAuthorization: Bearer \(token)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8)
        var load = try OpenLoop(host: host, port: port, connections: connections, requests: [request])
        let result = try load.run(rate: rate, total: rate * seconds)
        let latencies = result.latencies.sorted()
        printJSONLine([
            "offered_per_s": rate, "seconds": seconds, "connections": connections, "requests": latencies.count,
            "accepted": result.accepted, "achieved_per_s": Int(Double(latencies.count) / result.elapsed),
            "errors": latencies.count - result.accepted, "unanswered": rate * seconds - latencies.count, "reconnects": result.reconnects,
            "latency_p50_ms": rounded(percentile(latencies, 50), 2), "latency_p90_ms": rounded(percentile(latencies, 90), 2),
            "latency_p99_ms": rounded(percentile(latencies, 99), 2), "latency_max_ms": rounded(latencies.last ?? 0, 2),
        ])
    }

    static func address(_ url: String) throws -> (String, UInt16) {
        guard url.hasPrefix("http://") else { throw ValidationError("--url must start with http://") }
        let authority = url.dropFirst("http://".count).prefix { $0 != "/" }
        let parts = authority.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            throw ValidationError("--url needs HOST:PORT, e.g. http://127.0.0.1:8080")
        }
        return (parts[0] == "localhost" ? "127.0.0.1" : String(parts[0]), port)
    }
}

/// The event loop of `gateway-latency`.
struct OpenLoop {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
    }

    struct Connection {
        var fd: Int32 = -1
        /// When the request in flight on it was due (nanoseconds, monotonic); nil when idle.
        var due: UInt64?
        var buffer: [UInt8] = []
    }

    struct Result {
        var latencies: [Double] = []
        var accepted = 0
        /// Answers by HTTP status (0: no answer, the connection failed).
        var statuses: [Int: Int] = [:]
        var elapsed = 0.0
        var reconnects = 0
        /// Latencies (ms) by the second of the run their request was due in.
        var bySecond: [[Double]] = []

        /// Counts an answer (or a failure) to a request due at `due`, the run having started at `start`.
        mutating func answered(due: UInt64, now: UInt64, start: UInt64) {
            let latency = Double(now - due) / 1e6
            latencies.append(latency)
            let second = Int((due - start) / 1_000_000_000)
            while bySecond.count <= second { bySecond.append([]) }
            bySecond[second].append(latency)
        }

        /// Per second of the run: requests due in it, their latency's p50, p99 and max (ms).
        var timeline: [[String: Double]] {
            bySecond.enumerated().map { second, values in
                let sorted = values.sorted()
                return [
                    "second": Double(second), "requests": Double(sorted.count), "p50_ms": rounded(percentile(sorted, 50), 2),
                    "p99_ms": rounded(percentile(sorted, 99), 2), "max_ms": rounded(sorted.last ?? 0, 2),
                ]
            }
        }
    }

    let host: String
    let port: UInt16
    /// Sent in turn, request *i* being `requests[i % requests.count]`.
    let requests: [[UInt8]]
    let epoll: Int32
    var connections: [Connection]
    var slotOfDescriptor: [Int32: Int] = [:]
    var idle: [Int] = []

    init(host: String, port: UInt16, connections count: Int, requests: [[UInt8]]) throws {
        precondition(!requests.isEmpty)
        self.host = host
        self.port = port
        self.requests = requests
        epoll = cep_create()
        guard epoll >= 0 else { throw Failure("epoll_create1") }
        connections = Array(repeating: Connection(), count: count)
        for slot in 0..<count { try connect(slot) }
        idle = Array((0..<count).reversed())
    }

    mutating func run(rate: Int, total: Int) throws -> Result {
        // A write to a connection the server reset is an error to count, not a reason to die.
        signal(SIGPIPE, SIG_IGN)
        let interval = 1_000_000_000 / Double(rate)
        // The timer wakes the loop for the next request due only while a connection is free to
        // send it: when every connection is busy, the next answer wakes the loop, and the
        // requests that came due meanwhile are released then (their latency counts from when they
        // were due), so a saturated run does not spin on timer wake-ups that could send nothing.
        let timer = cep_timer()
        guard timer >= 0, cep_add(epoll, timer, cep_in()) == 0 else { throw Failure("timerfd") }
        defer { close(timer) }
        var result = Result()
        result.latencies.reserveCapacity(total)
        let start = Self.now()
        let deadline = start + UInt64(Double(total) * interval) + 15_000_000_000
        var released = 0  // requests whose due time has come
        var waiting: [UInt64] = []  // due times of released requests without a free connection yet
        var waitingHead = 0
        var fds = [Int32](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        var chunk = [UInt8](repeating: 0, count: 65536)
        // When the timer fires next (0: not armed); the first request is due at once.
        var armedAt = start
        guard cep_arm_at(timer, armedAt) == 0 else { throw Failure("timerfd_settime") }
        while result.latencies.count < total {
            let ready = cep_wait(epoll, &fds, &events, 256, 100)
            if ready < 0 && errno != EINTR { throw Failure("epoll_wait") }
            var now = Self.now()
            for index in 0..<max(0, Int(ready)) {
                let fd = fds[index]
                if fd == timer {
                    var expirations: UInt64 = 0
                    _ = read(timer, &expirations, 8)
                    armedAt = 0
                    continue
                }
                guard let slot = slotOfDescriptor[fd] else { continue }
                let count = read(fd, &chunk, chunk.count)
                if count <= 0 {
                    if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                    // Closed: a request in flight on it failed; an idle connection is already
                    // among the idle ones.
                    let inFlight = connections[slot].due
                    if let inFlight {
                        result.answered(due: inFlight, now: now, start: start)
                        result.statuses[0, default: 0] += 1
                    }
                    try reconnect(slot, makeIdle: inFlight != nil)
                    result.reconnects += 1
                    continue
                }
                connections[slot].buffer.append(contentsOf: chunk[0..<count])
                while let status = Self.takeResponse(&connections[slot].buffer) {
                    guard let due = connections[slot].due else { break }
                    now = Self.now()
                    result.answered(due: due, now: now, start: start)
                    if status == 202 { result.accepted += 1 }
                    result.statuses[status, default: 0] += 1
                    connections[slot].due = nil
                    idle.append(slot)
                }
            }
            now = Self.now()
            while released < total, start + UInt64(Double(released) * interval) <= now {
                waiting.append(start + UInt64(Double(released) * interval))
                released += 1
            }
            while waitingHead < waiting.count, let slot = idle.popLast() {
                connections[slot].due = waiting[waitingHead]
                let request = requests[waitingHead % requests.count]
                waitingHead += 1
                if !send(slot, request) {
                    result.answered(due: connections[slot].due!, now: Self.now(), start: start)
                    result.statuses[0, default: 0] += 1
                    try reconnect(slot, makeIdle: true)
                    result.reconnects += 1
                }
            }
            if now > deadline { break }
            if armedAt == 0 && !idle.isEmpty && released < total {
                // Not sooner than 100 µs from now, so a high rate is released in small batches.
                armedAt = max(start + UInt64(Double(released) * interval), now + 100_000)
                guard cep_arm_at(timer, armedAt) == 0 else { throw Failure("timerfd_settime") }
            }
        }
        result.elapsed = Double(Self.now() - start) / 1e9
        for connection in connections where connection.fd >= 0 { close(connection.fd) }
        close(epoll)
        return result
    }

    private func send(_ slot: Int, _ request: [UInt8]) -> Bool {
        var offset = 0
        while offset < request.count {
            let written = request.withUnsafeBytes { write(connections[slot].fd, $0.baseAddress! + offset, request.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }  // a fresh keep-alive socket always takes one request
            offset += written
        }
        return true
    }

    /// Replaces a closed connection; `makeIdle` when it was busy (an idle one is in `idle`).
    private mutating func reconnect(_ slot: Int, makeIdle: Bool) throws {
        slotOfDescriptor[connections[slot].fd] = nil
        _ = cep_remove(epoll, connections[slot].fd)
        close(connections[slot].fd)
        try connect(slot)
        if makeIdle { idle.append(slot) }
    }

    private mutating func connect(_ slot: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure("address \(host)") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure("connect to \(host):\(port)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        guard cep_add(epoll, fd, cep_in()) == 0 else { throw Failure("epoll_ctl") }
        connections[slot] = Connection(fd: fd)
        slotOfDescriptor[fd] = slot
    }

    /// Removes one complete response from the front of `buffer` and returns its status code, or
    /// nil while the response is incomplete. Responses must carry `Content-Length` (the gateway's
    /// do; chunked bodies are not understood).
    static func takeResponse(_ buffer: inout [UInt8]) -> Int? {
        guard buffer.count >= 12, let headerEnd = find(blankLine, in: buffer[...]) else { return nil }
        let status = buffer[9..<12].reduce(0) { $0 * 10 + Int($1) - 48 }
        var length = 0
        if let field = find(contentLength, in: buffer[0..<headerEnd], caseInsensitive: true) {
            for byte in buffer[(field + 17)..<headerEnd] {
                if byte == 13 { break }
                if byte >= 48 && byte <= 57 { length = length * 10 + Int(byte) - 48 }
            }
        }
        let end = headerEnd + 4 + length
        guard buffer.count >= end else { return nil }
        if end == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else {
            buffer.removeFirst(end)
        }
        return status
    }

    private static let blankLine: [UInt8] = [13, 10, 13, 10]
    private static let contentLength = Array("\r\ncontent-length:".utf8)

    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>, caseInsensitive: Bool = false) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        let fold: (UInt8) -> UInt8 = { caseInsensitive && $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        for start in haystack.startIndex...(haystack.endIndex - needle.count) {
            var index = 0
            while index < needle.count && fold(haystack[start + index]) == needle[index] { index += 1 }
            if index == needle.count { return start }
        }
        return nil
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
