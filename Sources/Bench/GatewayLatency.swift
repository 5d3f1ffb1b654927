import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `Bench gateway-latency`: offers `POST /v1/jobs` at a fixed rate (open loop: requests are sent
/// on schedule whether or not earlier ones finished) and reports latency percentiles.
struct GatewayLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway-latency", abstract: "Fixed-rate latency of POST /v1/jobs.")

    @Option(help: "Gateway base URL.") var url: String
    @Option(help: "Bearer token.") var token: String
    @Option(help: "Requests per second offered.") var rate: Int = 5000
    @Option(help: "Seconds to run.") var seconds: Int = 10
    @Option(help: "Body of each request.") var body: String = #"{"kind":"noop","action":"noop.run"}"#

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let total = rate * seconds
        let start = ContinuousClock.now
        let interval = Duration.seconds(1) / rate
        let results = try await withThrowingTaskGroup(of: (Double, Int).self) { group in
            for index in 0..<total {
                let due = start + interval * index
                if due > .now { try await Task.sleep(until: due, clock: .continuous) }
                group.addTask {
                    var request = HTTPClientRequest(url: url + "/v1/jobs")
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(token)")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: body))
                    let sent = ContinuousClock.now
                    do {
                        let response = try await client.execute(request, timeout: .seconds(10))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        // Latency from when the request was due: queueing in the generator counts.
                        return ((ContinuousClock.now - min(sent, due)).seconds * 1000, Int(response.status.code))
                    } catch {
                        return ((ContinuousClock.now - due).seconds * 1000, 0)
                    }
                }
            }
            var out: [(Double, Int)] = []
            for try await result in group { out.append(result) }
            return out
        }
        let elapsed = (ContinuousClock.now - start).seconds
        try await client.shutdown()
        let accepted = results.filter { $0.1 == 202 }
        let latencies = results.map(\.0).sorted()
        printJSONLine([
            "offered_per_s": rate, "seconds": seconds, "requests": results.count, "accepted": accepted.count,
            "achieved_per_s": Int(Double(results.count) / elapsed), "errors": results.filter { $0.1 != 202 }.count,
            "latency_p50_ms": rounded(percentile(latencies, 50), 2), "latency_p99_ms": rounded(percentile(latencies, 99), 2),
            "latency_max_ms": rounded(latencies.last ?? 0, 2),
        ])
    }
}
