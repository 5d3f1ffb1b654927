import ArgumentParser
import Foundation

@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Bench", abstract: "Benchmarks of the fleet; each prints one JSON object.",
        subcommands: [
            QueueBench.self, FairnessBench.self, ClassifyBench.self, AuditBench.self, AuditWriterLoad.self, GatewayLatency.self,
            GatewayMix.self, SyncBench.self, BriefingBench.self, CorrelationBench.self,
        ])
}

/// Percentile of sorted values (nearest rank).
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

func printJSONLine(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func rounded(_ value: Double, _ places: Int = 1) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}
