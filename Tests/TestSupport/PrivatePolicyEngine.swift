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

    /// The interpreter itself (not a launcher such as a pyenv shim, which would outlive a kill):
    /// `OC_TEST_PYTHON` (scripts/test sets it), else asked of `python3`.
    static let python: String = {
        if let given = ProcessInfo.processInfo.environment["OC_TEST_PYTHON"], !given.isEmpty { return given }
        let path = (capturedOutput(of: ["python3", "-c", "import sys; print(sys.executable)"]) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? "python3" : path
    }()

    public func start() async throws {
        let lib = URL(fileURLWithPath: TestEnvironment.opaLibrary).deletingLastPathComponent().deletingLastPathComponent().path
        let process = try ChildProcess(executable: Self.python, arguments: ["scripts/opa_server.py", "--port", String(port), "--lib", lib])
        self.process = process
        // Python and the engine's library take a while to start on a machine busy with the suite.
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let said = process.output.components(separatedBy: "listening on 127.0.0.1:").dropFirst().first
            if let bound = said.flatMap({ Int($0.prefix(while: \.isNumber)) }), bound > 0 {
                port = bound
                let probe = RESTPolicyTransport(baseURL: url, timeout: .seconds(30))
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

/// What a short command (run through `env`) printed, waiting for it to exit: blocking, so not
/// for the cooperative pool's hot paths. Its output goes to a file, not a pipe: a pipe's write
/// end is inherited by every process other tests start meanwhile, and reading to its end of
/// file would wait for them all to exit.
func capturedOutput(of command: [String]) -> String? {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("oc-output-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    guard FileManager.default.createFile(atPath: file.path, contents: nil), let handle = try? FileHandle(forWritingTo: file) else {
        return nil
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    process.standardOutput = handle
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    process.waitUntilExit()
    try? handle.close()
    return try? String(contentsOf: file, encoding: .utf8)
}
