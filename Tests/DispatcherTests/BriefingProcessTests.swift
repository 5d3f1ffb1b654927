import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Dispatcher

/// The `briefing` kind end to end: a user connects Jira and Calendar through the API, a real
/// `Workers` process syncs, classifies and discovers tasks, and then makes the briefing the
/// user submitted; the user reads it through the API.
@Suite struct BriefingProcessTests {
    @Test func aUserConnectsSyncsAndReadsTheBriefingAWorkerMade() async throws {
        let api = ConnectorAPITests()
        let providers = try await ConnectorAPITests.Providers.start()
        defer { Task { await providers.handle.stop() } }
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try providers.gateway(fixture)
        try await api.provisionReads(fixture, gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            for connector in ["jira", "gcal"] {
                let started = try await alice.call(
                    client, .post, "/v1/connectors/\(connector)/authorize", #"{"login_hint":"alice@acme.test"}"#)
                #expect(started.status == 200, "\(started.json)")
                let granted = try await api.consent(try #require(started.json["authorize_url"] as? String))
                let connected = try await client.execute(
                    uri: "/v1/connectors/\(connector)/callback?code=\(granted.code)&state=\(granted.state)", method: .get
                ) { Int($0.status.code) }
                #expect(connected == 200)
            }
            let worker = try providers.worker(fixture, kinds: "connector-sync,classifier,briefing", logLevel: "info")
            defer {
                worker.signal(SIGTERM)
                _ = worker.waitForExitBlocking(timeout: 20)
            }
            func finished(_ id: String) async -> [String: Any] {
                var last: [String: Any] = [:]
                _ = await eventually(timeout: .seconds(90)) {
                    last = (try? await alice.call(client, .get, "/v1/jobs/\(id)"))?.json ?? [:]
                    return ["succeeded", "failed", "dead_lettered"].contains(last["status"] as? String ?? "")
                }
                return last
            }
            for connector in ["jira", "gcal"] {
                let sync = try await alice.call(client, .post, "/v1/connectors/\(connector)/sync", "{}")
                #expect(sync.status == 202, "\(sync.json)")
                let done = await finished(try #require(sync.json["id"] as? String))
                #expect(done["status"] as? String == "succeeded", "\(done)\n\(worker.output)")
            }
            // The classifier that follows each sync discovers Alice's tasks.
            var open: [[String: Any]] = []
            let discovered = await eventually(timeout: .seconds(60)) {
                open = (try? await alice.call(client, .get, "/v1/tasks?limit=200"))?.json["tasks"] as? [[String: Any]] ?? []
                return !open.isEmpty
            }
            #expect(discovered, "no task discovered\n\(worker.output)")

            let submitted = try await alice.call(
                client, .post, "/v1/jobs", #"{"kind":"briefing","action":"gcal.read","payload":{"time_zone":"Europe/Berlin"}}"#)
            #expect(submitted.status == 202, "\(submitted.json)")
            let done = await finished(try #require(submitted.json["id"] as? String))
            #expect(done["status"] as? String == "succeeded", "\(done)\n\(worker.output)")
            let made = (done["result"] as? [String: Any])?["briefing_id"] as? String

            let latest = try await alice.call(client, .get, "/v1/briefings/latest")
            #expect(latest.status == 200 && latest.json["id"] as? String == made, "\(latest.json)")
            #expect(latest.json["status"] as? String == "ready", "\(latest.json)")
            let listed = (latest.json["tasks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(!listed.isEmpty && Set(listed).isSubset(of: Set(open.compactMap { $0["id"] as? String })), "\(latest.json)")
            let states = (latest.json["connector_status"] as? [[String: Any]] ?? []).map {
                "\($0["connector"] as? String ?? ""):\($0["status"] as? String ?? "")"
            }
            #expect(Set(states) == ["gcal:ok", "jira:ok"], "\(latest.json)")
            // Listed tasks are active now.
            let active = try await alice.call(client, .get, "/v1/tasks?status=active&limit=200")
            #expect(Set((active.json["tasks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }) == Set(listed))
            let page = try await client.execute(
                uri: "/v1/briefings/\(made ?? "")?format=html", method: .get, headers: [.authorization: "Bearer \(alice.token)"]
            ) { String(buffer: $0.body) }
            #expect(page.contains("<svg"))
        }
    }
}
