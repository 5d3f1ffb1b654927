import ArgumentParser
import Foundation

/// `Bench gateway-mix`: offers `POST /v1/jobs` at a fixed rate, each request with its own token
/// and body from a file (many tenants and users, a mix of kinds, actions and classifications),
/// and reports latency percentiles and the answers by outcome. Open loop, as `gateway-latency`.
struct GatewayMix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-mix", abstract: "Fixed-rate POST /v1/jobs with many tokens and bodies.",
        discussion: #"--requests names a file of JSON lines {"token": "...", "body": {...}}, sent in turn."#)

    @Option(help: "Gateway base URL (http://HOST:PORT).") var url: String
    @Option(help: "JSON lines: {\"token\": ..., \"body\": {...}}.") var requests: String
    @Option(help: "Requests per second offered.") var rate: Int = 5000
    @Option(help: "Seconds to run.") var seconds: Int = 10
    @Option(help: "Keep-alive connections (the most requests in flight at once).") var connections: Int = 256
    @Option(help: "Start this many lines into the file (so runs do not repeat each other's requests).") var skip: Int = 0
    @Flag(help: "Also print, on stderr, each second's latency (p50, p99, max) by when its requests were due.") var timeline = false

    func validate() throws {
        guard rate > 0, seconds > 0, (1...4096).contains(connections), skip >= 0 else {
            throw ValidationError("--rate and --seconds must be positive, --connections 1-4096, --skip not negative")
        }
    }

    func run() throws {
        let (host, port) = try GatewayLatency.address(url)
        guard let text = try? String(contentsOfFile: requests, encoding: .utf8) else {
            throw ValidationError("cannot read --requests \(requests)")
        }
        var built: [[UInt8]] = []
        for (number, line) in text.split(separator: "\n").enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let token = object["token"] as? String, let body = object["body"],
                let bytes = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
            else { throw ValidationError("\(requests) line \(number + 1) is not {\"token\": ..., \"body\": {...}}") }
            built.append(
                Array(
                    ("POST /v1/jobs HTTP/1.1\r\nHost: \(host):\(port)\r\nAuthorization: Bearer \(token)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n").utf8) + Array(bytes))
        }
        guard !built.isEmpty else { throw ValidationError("\(requests) holds no requests") }
        let offset = skip % built.count
        built = Array(built[offset...] + built[..<offset])
        var load = try OpenLoop(host: host, port: port, connections: connections, requests: built)
        let result = try load.run(rate: rate, total: rate * seconds)
        if timeline {
            for second in result.timeline {
                let line = try JSONSerialization.data(withJSONObject: second, options: [.sortedKeys])
                FileHandle.standardError.write(line + Data("\n".utf8))
            }
        }
        let latencies = result.latencies.sorted()
        let answered = result.statuses.filter { [202, 403].contains($0.key) }.values.reduce(0, +)
        printJSONLine([
            "offered_per_s": rate, "seconds": seconds, "connections": connections, "requests": latencies.count,
            "distinct_requests": built.count, "achieved_per_s": Int(Double(latencies.count) / result.elapsed),
            "decided_per_s": Int(Double(answered) / result.elapsed), "queued_or_parked": result.statuses[202] ?? 0,
            "denied": result.statuses[403] ?? 0,
            "other": result.statuses.filter { ![202, 403].contains($0.key) }.reduce(into: [String: Int]()) {
                $0[String($1.key)] = $1.value
            },
            "unanswered": rate * seconds - latencies.count, "reconnects": result.reconnects,
            "latency_p50_ms": rounded(percentile(latencies, 50), 2), "latency_p90_ms": rounded(percentile(latencies, 90), 2),
            "latency_p99_ms": rounded(percentile(latencies, 99), 2), "latency_max_ms": rounded(latencies.last ?? 0, 2),
        ])
    }
}
