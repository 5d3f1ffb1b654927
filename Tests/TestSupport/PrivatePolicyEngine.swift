import Contracts
import Foundation
import Policy

/// A private policy engine process (for tests that stop it, or need one per Dispatcher).
public final class PrivatePolicyEngine: @unchecked Sendable {
    // @unchecked Sendable: `port` and `process` are only touched by the owning test.
    /// Chosen by the engine at its first start (port 0: no other test can take it meanwhile),
    /// kept for restarts.
    public private(set) var port = 0
    private var process: ChildProcess?

    public init() async throws {
        try await start()
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// The interpreter itself (not a launcher such as a pyenv shim, which would outlive a kill).
    static let python: String = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys; print(sys.executable)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try? process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? "python3" : path
    }()

    public func start() async throws {
        let lib = URL(fileURLWithPath: TestEnvironment.opaLibrary).deletingLastPathComponent().deletingLastPathComponent().path
        let process = try ChildProcess(executable: Self.python, arguments: ["scripts/opa_server.py", "--port", String(port), "--lib", lib])
        self.process = process
        for _ in 0..<400 {
            let said = process.output.components(separatedBy: "listening on 127.0.0.1:").dropFirst().first
            if let bound = said.flatMap({ Int($0.prefix(while: \.isNumber)) }), bound > 0 {
                port = bound
                let probe = RESTPolicyTransport(baseURL: url, timeout: .seconds(2))
                let alive = await probe.isAlive()
                await probe.shutdown()
                if alive { return }
            }
            if process.poll() != nil { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw FleetError(.policyUnavailable, "private policy engine did not start: \(process.output)")
    }

    public func stop() {
        process?.signal(SIGKILL)
        _ = process?.waitForExitBlocking(timeout: 5)
        process = nil
    }

    deinit { stop() }
}
