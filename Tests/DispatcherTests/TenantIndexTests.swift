import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@testable import Dispatcher

/// The sweep of the Dispatcher's time indexes, for members naming one entry or several.
@Suite struct TenantIndexTests {
    /// A member naming several entries (a batch of admissions) is handled entry by entry: the
    /// done, malformed and unknown-tenant ones leave, one that failed stays on its own for a
    /// retry, and the batch's member leaves the index.
    @Test func aMemberNamingSeveralEntriesIsHandledEntryByEntry() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await app.test(.router) { _ in
            let key = "test:index:\(JobID.make())"
            let tenant = fixture.tenant.rawValue
            let due = String(Clock.milliseconds() - 1_000)
            try await gateway.redis.send("ZADD", key, due, "\(tenant)/done \(tenant)/fails not-an-entry nobody-here/x \(tenant)/later")
            try await gateway.redis.send("ZADD", key, due, "\(tenant)/alone")
            let later = Clock.milliseconds() + 3_600_000
            let handled = Counter()
            let before = Clock.milliseconds()
            try await gateway.index.sweep(key, retryDelay: .seconds(60)) { _, id, _ in
                await handled.add(id)
                switch id {
                case "fails": throw FleetError(.queueUnavailable, "a failure for the test")
                case "later": return .next(at: later)
                default: return .done
                }
            }
            let after = Clock.milliseconds()
            #expect(await handled.ids.sorted() == ["alone", "done", "fails", "later"])
            let left = try await gateway.redis.send("ZRANGE", key, "0", "-1", "WITHSCORES").array?.compactMap(\.string) ?? []
            #expect(left.count == 4, "\(left)")
            let scores = Dictionary(uniqueKeysWithValues: stride(from: 0, to: left.count - 1, by: 2).map { (left[$0], left[$0 + 1]) })
            #expect(scores["\(tenant)/later"].flatMap(Int64.init) == later)
            let retryAt = try #require(scores["\(tenant)/fails"].flatMap(Int64.init))
            #expect(retryAt >= before + 60_000 && retryAt <= after + 60_000)
            try await gateway.redis.send("DEL", key)
        }
    }

    private actor Counter {
        var ids: [String] = []
        func add(_ id: String) { ids.append(id) }
    }
}
