import Foundation
import Synchronization
import TestSupport
import Testing

@testable import RedisClient

@Suite struct RedisConfigurationTests {
    @Test func parsesURLs() throws {
        let full = try RedisConfiguration(url: "redis://app:s%40cret@cache.local:6390/4")
        #expect(full.host == "cache.local")
        #expect(full.port == 6390)
        #expect(full.username == "app")
        #expect(full.password == "s@cret")
        #expect(full.database == 4)
        let passwordOnly = try RedisConfiguration(url: "redis://:pw@localhost")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "pw")
        #expect(passwordOnly.port == 6379)
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "http://localhost") }
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://localhost/x") }
    }

    @Test func scriptNamesMatchRedis() {
        #expect(SHA1.hex(Array("".utf8)) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(Array("return 1".utf8)) == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}

@Suite struct RedisClientTests {
    let client = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
    let prefix = "oc:{t:\(TestEnvironment.tenant().rawValue)}"

    @Test func binarySafeRoundTrip() async throws {
        let key = "\(prefix):binary"
        let bytes: [UInt8] = [0, 1, 2, 13, 10, 255, 0, 36, 42]
        var set = RedisCommand("SET", [key])
        set.append(bytes)
        try await client.send(set)
        #expect(try await client.send("GET", key).bytes == bytes)
    }

    @Test func pipelineKeepsOrderAndReturnsErrorsAsValues() async throws {
        let key = "\(prefix):counter"
        var commands = (0..<1000).map { _ in RedisCommand("INCR", [key]) }
        commands.append(RedisCommand("HGET", [key, "x"]))
        let replies = try await client.send(commands)
        #expect(replies.prefix(1000).map { $0.int } == (1...1000).map { Int64($0) })
        #expect(replies[1000].errorMessage?.contains("WRONGTYPE") == true)
        // The connection is still fine after an error reply.
        #expect(try await client.send("GET", key).int == 1000)
    }

    @Test func concurrentCallersShareConnections() async throws {
        let key = "\(prefix):concurrent"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 { group.addTask { try await client.send("INCR", key) } }
            try await group.waitForAll()
        }
        #expect(try await client.send("GET", key).int == 200)
    }

    /// `whenWritten` is called once the commands are on the socket, before their reply: a
    /// `BLPOP` that answers only when something is pushed, pushed only once the write was
    /// reported, answers with what was pushed (not its timeout's nil).
    @Test func theWriteIsReportedBeforeTheReply() async throws {
        final class Flag: Sendable { let isSet = Atomic<Bool>(false) }
        let key = "\(prefix):handoff"
        let connection = client.dedicatedConnection(timeout: .seconds(30))
        defer { connection.close() }
        let written = Flag()
        let reply = Task {
            try await connection.send([RedisCommand("BLPOP", [key, "20"])], whenWritten: { written.isSet.store(true, ordering: .relaxed) })
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while !written.isSet.load(ordering: .relaxed) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try await client.send("LPUSH", key, "sent")
        let values = try await reply.value
        #expect(values.count == 1 && values[0].array?.last?.string == "sent", "\(values)")
    }

    @Test func errorReplyThrowsWithOperation() async throws {
        await #expect(throws: RedisError.self) { try await client.send("NOSUCHCOMMAND") }
    }
}

@Suite(.serialized) struct RedisReconnectTests {
    @Test func reconnectsAfterRestart() async throws {
        let server = try await PrivateRedis()
        let client = RedisClient(configuration: server.configuration(), logger: TestEnvironment.logger)
        defer { client.close() }
        try await client.send("SET", "k", "v1")
        await server.stop()
        await #expect(throws: RedisError.self) { try await client.send("GET", "k") }
        try await server.restart()
        let recovered = await eventually { (try? await client.send("GET", "k").string) == "v1" }
        #expect(recovered)
    }

    @Test func scriptsRunAndReloadAfterFlush() async throws {
        // A private server: flushing the script cache of the shared one would disturb other tests.
        let server = try await PrivateRedis()
        let client = RedisClient(configuration: server.configuration(), logger: TestEnvironment.logger)
        defer { client.close() }
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(try await client.send(script.command(keys: ["k"], arguments: ["5"])).int == 5)
        try await client.send("SCRIPT", "FLUSH")
        #expect(try await client.send(script.command(keys: ["k"], arguments: ["2"])).int == 7)
    }

    /// A pipeline of a script the server holds and one it does not (as after a restart) runs in
    /// the order written: the missing script is loaded first, not re-run after the others.
    @Test func aPipelineOfScriptsKeepsItsOrderWhenOneIsMissing() async throws {
        let server = try await PrivateRedis()
        let client = RedisClient(configuration: server.configuration(poolSize: 1), logger: TestEnvironment.logger)
        defer { client.close() }
        let write = RedisScript("return redis.call('SET', KEYS[1], ARGV[1])")
        let read = RedisScript("return redis.call('GET', KEYS[1])")
        #expect(try await client.send([read.command(keys: ["k"])])[0].string == nil)
        let replies = try await client.send([write.command(keys: ["k"], arguments: ["v"]), read.command(keys: ["k"])])
        #expect(replies[1].string == "v", "the read ran after the write")
    }

    @Test func unreachableServerFailsClearly() async throws {
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:1/0")
        configuration.commandTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
        defer { client.close() }
        await #expect {
            try await client.send("PING")
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .connection && error.message.contains("127.0.0.1:1")
        }
    }

    @Test func authAndDatabaseFromURL() async throws {
        let server = try await PrivateRedis()
        await server.runCLI(["CONFIG", "SET", "requirepass", "hunter2"])
        let client = RedisClient(
            configuration: try RedisConfiguration(url: "redis://:hunter2@127.0.0.1:\(server.port)/3"), logger: TestEnvironment.logger)
        defer { client.close() }
        try await client.send("SET", "where", "db3")
        #expect(await server.runCLI(["-a", "hunter2", "--no-auth-warning", "-n", "3", "GET", "where"]).contains("db3"))
        let wrong = RedisClient(
            configuration: try RedisConfiguration(url: "redis://:nope@127.0.0.1:\(server.port)/0"), logger: TestEnvironment.logger)
        defer { wrong.close() }
        await #expect(throws: RedisError.self) { try await wrong.send("PING") }
    }
}
