import AuditLog
import Connectors
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import OutboundHTTP
import RedisClient
import Settings
import Synchronization
import TestSupport
import Testing

@testable import Dispatcher
@testable import FakeProviders

/// Connecting accounts and syncing them through the API, end to end: the gateway in process,
/// the fake providers, and a real `Workers` process that runs the syncs. Each test has a Redis
/// database of its own, so its workers are the only ones it sees.
@Suite struct ConnectorAPITests {
    struct Providers {
        let urls: FakeProviderURLs
        let handle: FakeProvidersHandle
        let key = (0..<32).map { _ in UInt8.random(in: 0...255) }

        static func start() async throws -> Providers {
            var configuration = FakeProvidersConfiguration()
            configuration.gmailMessages = 80
            configuration.gmailMessagesOtherUsers = 10
            configuration.jiraIndexDelayMillis = 0
            configuration.logLevel = "warning"
            let (urls, handle) = try await FakeProvidersServer.start(configuration, logger: TestEnvironment.logger)
            return Providers(urls: urls, handle: handle)
        }

        /// The providers' settings and the sealing key as environment variables (what a worker
        /// process reads).
        var environment: [String: String] {
            urls.fleetEnvironment.merging(["OC_SECRETS_KEY": Data(key).base64EncodedString()]) { $1 }
        }

        var settings: ProviderSettings {
            try! ProviderSettings(try! ConfigurationValues.load(environment: environment))
        }

        /// The gateway of `fixture`, reaching these providers and sealing with this key.
        func gateway(_ fixture: GatewayFixture) throws -> (some ApplicationProtocol, Gateway) {
            try fixture.application { configuration in
                configuration.fleet.providers = settings
                configuration.secrets = try! SecretBox(current: key)
            }
        }

        /// A `Workers` process of `kinds` for `fixture`'s tenant, reaching these providers.
        func worker(_ fixture: GatewayFixture, kinds: String, logLevel: String) throws -> ChildProcess {
            try ChildProcess(
                executable: TestEnvironment.binDirectory.appendingPathComponent("Workers").path,
                arguments: [
                    "--redis-url", fixture.redisURL, "--kinds", kinds, "--tenants", fixture.tenant.rawValue, "--metrics-port=-1",
                    "--database-url", TestDatabase.appURL, "--opa-url", TestEnvironment.opaURL, "--log-level", logLevel,
                ],
                // Like the gateway's in these tests: many tests share one engine and two cores.
                environment: environment.merging(["OC_OPA_TIMEOUT_MS": "20000"]) { $1 })
        }
    }

    /// Policies that let users read their five connectors.
    func provisionReads(_ fixture: GatewayFixture, _ gateway: Gateway) async throws {
        let admin = Identity(tenant: fixture.tenant, user: "boss", org: "", team: "", roles: [.enterpriseAdmin])
        var actions: [String: JSONValue] = ["default": .object(["autonomy": .string("block")])]
        for connector in Connector.allCases { actions[connector.readAction.rawValue] = .object(["autonomy": .string("autonomous")]) }
        let saved = try await gateway.policies.save(
            by: admin, scope: .enterprise, scopeID: "*", domain: .actions, content: .object(actions), changeReason: "test setup")
        try await gateway.policySync.syncOnce()
        try await gateway.policySync.push(fixture.tenant, revision: saved.revision)
    }

    /// Follows an authorize URL at the fake provider (which consents at once for the hinted
    /// user); returns the code and state it sends back.
    func consent(_ url: String) async throws -> (code: String, state: String) {
        let response = try await CurlTransport(userAgent: "openclaw-tests").send(
            OutboundRequest(method: "GET", url: url, timeout: .seconds(10)))
        let location = try #require(response.header("Location"), "no redirect: \(response.status)")
        let items = URLComponents(string: location)?.queryItems ?? []
        let code = try #require(items.first { $0.name == "code" }?.value, "\(location)")
        let state = try #require(items.first { $0.name == "state" }?.value, "\(location)")
        return (code, state)
    }

    @Test func aUserConnectsSyncsAndReadsTheResultWithNoTokenAnywhere() async throws {
        let providers = try await Providers.start()
        defer { Task { await providers.handle.stop() } }
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try providers.gateway(fixture)
        try await provisionReads(fixture, gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let bob = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "bob"))
        // A message holding a secret: classified restricted, and the secret is nowhere after.
        let secretKey = "AKIAQ7ZR4M2KT9W3PX6B"
        let leaked = try await CurlTransport(userAgent: "openclaw-tests").send(
            OutboundRequest(
                method: "POST", url: providers.urls.control + "/control/gmail/alice@acme.test/messages",
                headers: [("Content-Type", "application/json")],
                body: Array(
                    #"{"from":"ops@acme.test","to":["alice@acme.test"],"subject":"pipeline","body":"the deploy key is AKIAQ7ZR4M2KT9W3PX6B"}"#
                        .utf8)))
        let leakedID = ((try? JSONSerialization.jsonObject(with: Data(leaked.body))) as? [String: Any])?["id"] as? String ?? ""
        let responses = Mutex<[String]>([])
        let workerLog = Mutex("")
        try await app.test(.router) { client in
            let none = try await alice.call(client, .get, "/v1/connectors")
            let listed = none.json["connectors"] as? [[String: Any]] ?? []
            #expect(listed.count == 5 && listed.allSatisfy { $0["connected"] as? Bool == false }, "\(none.json)")
            let unconnected = try await alice.call(client, .post, "/v1/connectors/gmail/sync", "{}")
            #expect(unconnected.status == 404, "\(unconnected.json)")

            // A consent started by alice cannot be completed by bob, and burns its state.
            let first = try await alice.call(client, .post, "/v1/connectors/gmail/authorize", #"{"login_hint":"alice@acme.test"}"#)
            #expect(first.status == 200, "\(first.json)")
            let stolen = try await consent(try #require(first.json["authorize_url"] as? String))
            let hijack = try await bob.call(client, .get, "/v1/connectors/gmail/callback?code=\(stolen.code)&state=\(stolen.state)")
            #expect(hijack.status == 403, "\(hijack.json)")
            // Alice's own consent, completed by the provider's redirect (no bearer token).
            let second = try await alice.call(client, .post, "/v1/connectors/gmail/authorize", #"{"login_hint":"alice@acme.test"}"#)
            let granted = try await consent(try #require(second.json["authorize_url"] as? String))
            let callback = "/v1/connectors/gmail/callback?code=\(granted.code)&state=\(granted.state)"
            let connected = try await client.execute(uri: callback, method: .get) { response in
                (Int(response.status.code), String(buffer: response.body))
            }
            #expect(connected.0 == 200, "\(connected.1)")
            responses.withLock { $0.append(connected.1) }
            // A state is good once.
            let replayed = try await client.execute(uri: callback, method: .get) { Int($0.status.code) }
            #expect(replayed == 400)
            // An unknown connector or a state of no tenant: 4xx, never 500.
            #expect(try await alice.call(client, .post, "/v1/connectors/dropbox/authorize", "{}").status == 404)
            #expect(
                try await client.execute(uri: "/v1/connectors/gmail/callback?code=x&state=nope", method: .get) { Int($0.status.code) }
                    == 400)

            let summary = try await alice.call(client, .get, "/v1/connectors")
            let gmail = (summary.json["connectors"] as? [[String: Any]])?.first { $0["connector"] as? String == "gmail" }
            #expect(gmail?["connected"] as? Bool == true, "\(summary.json)")
            #expect(gmail?["account"] as? String == "alice@acme.test")
            #expect(gmail?["reauth_required"] as? Bool == false)
            // Bob has connected nothing.
            let bobs = try await bob.call(client, .get, "/v1/connectors")
            #expect((bobs.json["connectors"] as? [[String: Any]])?.allSatisfy { $0["connected"] as? Bool == false } == true)

            let submitted = try await alice.call(client, .post, "/v1/connectors/gmail/sync", "{}")
            #expect(submitted.status == 202, "\(submitted.json)")
            let jobID = try #require(submitted.json["id"] as? String)
            // No worker serves connector-sync yet: the status says so (a status read while Redis
            // is too busy to answer the worker count says nothing, so it is read until it does).
            var waiting: [String: Any] = [:]
            let noticed = await eventually {
                waiting = (try? await alice.call(client, .get, "/v1/jobs/\(jobID)"))?.json ?? [:]
                return (waiting["notice"] as? String)?.contains("no worker serves") == true
            }
            if !noticed {
                // Whatever heartbeats for the kind in this test's own database (a worker left
                // behind by a crashed earlier run would; scripts/test stops those).
                let serving = try await gateway.redis.send("ZRANGE", RedisKeys.consumers(kind: .connectorSync), "0", "-1")
                Issue.record("no 'no worker serves' notice: \(waiting); consumers registered: \(serving)")
            }

            let worker = try providers.worker(fixture, kinds: "connector-sync,classifier", logLevel: "debug")
            defer {
                worker.signal(SIGTERM)
                _ = worker.waitForExitBlocking(timeout: 20)
            }
            var last: [String: Any] = [:]
            let done = await eventually(timeout: .seconds(90)) {
                last = (try? await alice.call(client, .get, "/v1/jobs/\(jobID)"))?.json ?? [:]
                return last["status"] as? String == "succeeded"
            }
            #expect(done, "\(last)\n\(worker.output)")
            let result = last["result"] as? [String: Any]
            #expect(result?["connector"] as? String == "gmail", "\(last)")
            #expect((result?["upserted"] as? Int ?? 0) > 0, "\(last)")
            #expect(last["notice"] == nil)
            let synced = try await alice.call(client, .get, "/v1/connectors")
            let account = (synced.json["connectors"] as? [[String: Any]])?.first { $0["connector"] as? String == "gmail" }
            #expect(account?["items"] as? Int == result?["upserted"] as? Int, "\(synced.json)")
            #expect(account?["last_sync_at"] != nil)
            // The sync asked for the classification of what it stored, and the worker did it: every
            // message has a level and a class.
            var items: [String: Any] = [:]
            let classified = await eventually(timeout: .seconds(60)) {
                items = (try? await alice.call(client, .get, "/v1/items?connector=gmail&limit=200"))?.json ?? [:]
                let list = items["items"] as? [[String: Any]] ?? []
                return !list.isEmpty && list.allSatisfy { $0["classified_at"] != nil && $0["message_class"] != nil }
            }
            #expect(classified, "\(items)\n\(worker.output)")
            let restricted = (items["items"] as? [[String: Any]] ?? []).first { $0["id"] as? String == leakedID }
            #expect(restricted?["classification"] as? String == "restricted", "\(String(describing: restricted))")
            let read = [
                String(decoding: try JSONSerialization.data(withJSONObject: items), as: UTF8.self),
                String(decoding: try JSONSerialization.data(withJSONObject: last), as: UTF8.self),
                String(decoding: try JSONSerialization.data(withJSONObject: synced.json), as: UTF8.self),
            ]
            responses.withLock { $0 += read }
            worker.signal(SIGTERM)
            _ = await worker.waitForExit()
            workerLog.withLock { $0 = worker.output }
        }

        // The tokens the account holds appear in no response, log line, Redis value or audit entry.
        let accounts = ConnectorAccounts(tenant: fixture.tenant, secrets: try SecretBox(current: providers.key))
        let directory = TenantDirectory(database: try TestDatabase.app())
        let account = try #require(
            try await directory.session(fixture.tenant) { try await accounts.load($0, user: "alice", connector: .gmail) })
        let secrets = [account.tokens.accessToken, account.tokens.refreshToken ?? ""].filter { !$0.isEmpty }
        #expect(!secrets.isEmpty)
        let redis = RedisClient(configuration: try RedisConfiguration(url: fixture.redisURL), logger: TestEnvironment.logger)
        var stored: [String] = []
        var cursor = "0"
        repeat {
            let page = try await redis.send("SCAN", cursor, "COUNT", "1000").array ?? []
            cursor = page.first?.string ?? "0"
            for key in page.dropFirst().first?.array?.compactMap(\.string) ?? [] {
                stored.append(key)
                switch try await redis.send("TYPE", key).string {
                case "string": stored.append(try await redis.send("GET", key).string ?? "")
                case "hash": stored += (try await redis.send("HGETALL", key).array ?? []).compactMap(\.string)
                case "zset": stored += (try await redis.send("ZRANGE", key, "0", "-1").array ?? []).compactMap(\.string)
                case "set": stored += (try await redis.send("SMEMBERS", key).array ?? []).compactMap(\.string)
                case "list": stored += (try await redis.send("LRANGE", key, "0", "-1").array ?? []).compactMap(\.string)
                case "stream":
                    for entry in try await redis.send("XRANGE", key, "-", "+").array ?? [] {
                        stored += (entry.array?.last?.array ?? []).compactMap(\.string)
                    }
                default: break
                }
            }
        } while cursor != "0"
        let audit = try await AuditStore(database: try TestDatabase.app()).query(tenant: fixture.tenant, filter: .init(), limit: 500)
            .records.map {
                "\($0.event.actionDetail) \($0.event.policyReason ?? "") \($0.event.dataAccessedJSON)"
            }
        #expect(!audit.isEmpty)
        #expect(audit.contains { $0.contains("connector.connected") || $0.contains("gmail") })
        let logs = workerLog.withLock { $0 }
        #expect(logs.contains("connector-sync"), "the worker logged nothing at debug level")
        #expect(!responses.withLock { $0 }.contains { $0.contains(secretKey) }, "the secret in a response")
        #expect(!stored.contains { $0.contains(secretKey) }, "the secret in Redis")
        #expect(!audit.contains { $0.contains(secretKey) }, "the secret in the audit log")
        #expect(!logs.contains(secretKey), "the secret in the worker's log")
        for secret in secrets {
            #expect(!responses.withLock { $0 }.contains { $0.contains(secret) }, "a token in a response")
            #expect(!stored.contains { $0.contains(secret) }, "a token in Redis")
            #expect(!audit.contains { $0.contains(secret) }, "a token in the audit log")
            #expect(!logs.contains(secret), "a token in the worker's log")
        }
    }

    /// Sync → classify → auto-respond → approval → edited approval → sent, through the API and a
    /// real worker process against the fake Gmail.
    @Test func aReplyIsDraftedParkedForApprovalEditedAndSent() async throws {
        let providers = try await Providers.start()
        defer { Task { await providers.handle.stop() } }
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try providers.gateway(fixture)
        let boss = Identity(tenant: fixture.tenant, user: "boss", org: "", team: "", roles: [.enterpriseAdmin])
        var actions: [String: JSONValue] = ["default": .object(["autonomy": .string("block")])]
        for connector in Connector.allCases { actions[connector.readAction.rawValue] = .object(["autonomy": .string("autonomous")]) }
        actions["autorespond.send"] = .object(["autonomy": .string("approve")])
        actions["gmail.send"] = .object(["autonomy": .string("notify")])
        _ = try await gateway.policies.save(
            by: boss, scope: .enterprise, scopeID: "*", domain: .integrations,
            content: .object(["write": .array([.string("autorespond.send"), .string("gmail.send")])]), changeReason: "test setup")
        let saved = try await gateway.policies.save(
            by: boss, scope: .enterprise, scopeID: "*", domain: .actions, content: .object(actions), changeReason: "test setup")
        try await gateway.policySync.syncOnce()
        try await gateway.policySync.push(fixture.tenant, revision: saved.revision)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let admin = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        let control = CurlTransport(userAgent: "openclaw-tests")
        let delivered = try await control.send(
            OutboundRequest(
                method: "POST", url: providers.urls.control + "/control/gmail/alice@acme.test/messages",
                headers: [("Content-Type", "application/json")],
                body: Array(
                    #"{"from":"Carol Ng <carol@partner.test>","to":["alice@acme.test"],"subject":"Budget sign-off","body":"Alice, can you sign off the Q3 budget by Thursday?"}"#
                        .utf8)))
        let asked = try #require((try? JSONSerialization.jsonObject(with: Data(delivered.body))) as? [String: Any])["id"] as? String
        try await app.test(.router) { client in
            let first = try await alice.call(client, .post, "/v1/connectors/gmail/authorize", #"{"login_hint":"alice@acme.test"}"#)
            let granted = try await consent(try #require(first.json["authorize_url"] as? String))
            let connected = try await client.execute(
                uri: "/v1/connectors/gmail/callback?code=\(granted.code)&state=\(granted.state)", method: .get
            ) { Int($0.status.code) }
            #expect(connected == 200)
            let worker = try providers.worker(fixture, kinds: "connector-sync,classifier,auto-responder", logLevel: "info")
            defer {
                worker.signal(SIGTERM)
                _ = worker.waitForExitBlocking(timeout: 20)
            }
            #expect(try await alice.call(client, .post, "/v1/connectors/gmail/sync", "{}").status == 202)

            // The reply waits for a human: the approval shows the draft and the message.
            var approval: [String: Any] = [:]
            let parked = await eventually(timeout: .seconds(90)) {
                let list =
                    (try? await admin.call(client, .get, "/v1/approvals?status=pending"))?.json["approvals"] as? [[String: Any]] ?? []
                approval =
                    list.first {
                        ($0["kind"] as? String) == "auto-responder" && ($0["payload"] as? [String: Any])?["message_id"] as? String == asked
                    } ?? [:]
                return !approval.isEmpty
            }
            #expect(parked, "\(worker.output)")
            let payload = approval["payload"] as? [String: Any] ?? [:]
            #expect((payload["draft"] as? String)?.contains("Hi Carol,") == true, "\(approval)")
            #expect((payload["original"] as? [String: Any])?["subject"] as? String == "Budget sign-off")
            #expect(approval["classification"] as? String == "internal")
            // The drafting job records the reply as pending right after parking it.
            var pending: [String: Any] = [:]
            let listed = await eventually {
                pending = (try? await alice.call(client, .get, "/v1/responses?status=pending"))?.json ?? [:]
                return (pending["responses"] as? [[String: Any]])?.contains { $0["message_id"] as? String == asked } == true
            }
            #expect(listed, "\(pending)")

            // An edit the kind does not allow is refused; the draft may be edited.
            let id = try #require(approval["id"] as? String)
            let bad = try await admin.call(
                client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"ok","edits":{"message_id":"another"}}"#)
            #expect(bad.status == 400, "\(bad.json)")
            let approved = try await admin.call(
                client, .post, "/v1/approvals/\(id)/approve",
                #"{"reason":"fine with a date","edits":{"draft":"Hi Carol,\n\nAlice will sign off the budget on Wednesday.\n\nBest regards"}}"#
            )
            #expect(approved.status == 200, "\(approved.json)")

            var reply: [String: Any] = [:]
            // Sending waits for the worker to take the approved job and decide it again (the
            // shared engine is busy while the whole suite runs).
            let sent = await eventually(timeout: .seconds(120)) {
                let list = (try? await alice.call(client, .get, "/v1/responses?status=sent"))?.json["responses"] as? [[String: Any]] ?? []
                reply = list.first { $0["message_id"] as? String == asked } ?? [:]
                return !reply.isEmpty
            }
            #expect(sent, "\(worker.output)")
            #expect((reply["response"] as? String)?.contains("on Wednesday") == true, "\(reply)")
            #expect(reply["disclosure"] as? Bool == true)
            #expect(reply["policy_applied"] as? String != nil)
        }
        let outbox = try await control.send(OutboundRequest(url: providers.urls.control + "/control/gmail/alice@acme.test/sent"))
        let messages =
            ((try? JSONSerialization.jsonObject(with: Data(outbox.body))) as? [String: Any])?["messages"] as? [[String: Any]] ?? []
        let answers = messages.filter { (($0["headers"] as? [String: Any])?["Subject"] as? String) == "Re: Budget sign-off" }
        #expect(answers.count == 1, "\(messages)")
        let headers = answers.first?["headers"] as? [String: Any] ?? [:]
        #expect(headers["Auto-Submitted"] as? String == "auto-replied")
        #expect(headers["In-Reply-To"] != nil)
        let body = answers.first?["body"] as? String ?? ""
        #expect(body.contains("on Wednesday") && body.contains("OpenClaw assistant"), "\(body)")
    }
}
