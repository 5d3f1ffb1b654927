import Contracts
import FleetConcurrency
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the engine's C library answers: `{"result": [{"expressions": [{"value": …}]}]}` for an
/// evaluation (an empty or missing result when the document is undefined), `{"error": {…}}`
/// when it fails.
enum EngineEnvelope {
    /// The evaluation's value, nil when the document is undefined; the engine's error thrown.
    static func value(_ bytes: [UInt8]) throws -> JSONValue? {
        let envelope = try parsed(bytes, failing: "failed")
        guard case .array(let rows)? = envelope["result"], case .object(let row)? = rows.first,
            case .array(let expressions)? = row["expressions"], case .object(let expression)? = expressions.first,
            let value = expression["value"], value != .null
        else { return nil }
        return value
    }

    /// The engine's error, if the envelope holds one.
    static func check(_ bytes: [UInt8]) throws {
        _ = try parsed(bytes, failing: "refused it")
    }

    /// The envelope's fields; the engine's error, when it holds one, thrown ("the OPA engine <what> …").
    private static func parsed(_ bytes: [UInt8], failing what: String) throws -> [String: JSONValue] {
        guard case .object(let envelope)? = JSONValue.parse(bytes) else {
            throw PolicyTransportFailure(description: "the OPA engine answered something that is not a JSON object")
        }
        if let error = envelope["error"], error != .null {
            let detail = error.objectValue ?? [:]
            throw PolicyTransportFailure(
                description:
                    "the OPA engine \(what) (\(detail["code"]?.stringValue ?? "error")): \(detail["message"]?.stringValue ?? "")")
        }
        return envelope
    }
}

/// The OPA engine in process: the same Rego, evaluated by OPA's own Go engine through its C
/// library (`libopabridge.so`, from the `opa-golib-python-bindings` wheel `scripts/setup`
/// installs), for a deployment on one machine where a loopback call per decision is the cost
/// that matters. It keeps what a sidecar keeps (modules by id, one data document) and answers
/// the same questions; like a sidecar that restarted, it holds nothing until the fleet's policy
/// sync loads it.
///
/// A change (a module or a document put) builds a new engine from everything held and swaps it
/// in; evaluations under way finish on the engine they started with. Evaluations are blocking
/// calls into Go and run on threads of their own, never on Swift's cooperative pool.
public final class EmbeddedPolicyEngine: PolicyTransport {
    /// The library's entry points.
    struct Library: @unchecked Sendable {
        // @unchecked Sendable: C function pointers into a library that is never unloaded.
        typealias New = @convention(c) () -> UInt64
        typealias Destroy = @convention(c) (UInt64) -> Void
        typealias Free = @convention(c) (UnsafeMutableRawPointer?) -> Void
        typealias Add = @convention(c) (UInt64, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?
        typealias Evaluate =
            @convention(c) (UInt64, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32, Int32) -> UnsafeMutablePointer<CChar>?

        let new: New
        let destroy: Destroy
        let free: Free
        let addPolicy: Add
        let addData: Add
        let evaluate: Evaluate

        static func load(_ path: String) throws -> Library {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
                let why = dlerror().map { String(cString: $0) } ?? "unknown error"
                throw PolicyTransportFailure(
                    description: "cannot load the OPA engine library \(path): \(why) (scripts/setup installs it; OC_OPA_LIBRARY names it)")
            }
            func symbol<T>(_ name: String, as: T.Type) throws -> T {
                guard let address = dlsym(handle, name) else {
                    throw PolicyTransportFailure(description: "\(path) is not the OPA engine library: it has no \(name)")
                }
                return unsafeBitCast(address, to: T.self)
            }
            return Library(
                new: try symbol("OpaNew", as: New.self), destroy: try symbol("OpaDestroy", as: Destroy.self),
                free: try symbol("OpaFreeString", as: Free.self), addPolicy: try symbol("OpaAddPolicy", as: Add.self),
                addData: try symbol("OpaAddData", as: Add.self), evaluate: try symbol("OpaEvalDocument", as: Evaluate.self))
        }

        /// Calls `body` and reads the envelope it returns (freeing it): the JSON bytes, or the
        /// engine's error.
        func envelope(_ body: () -> UnsafeMutablePointer<CChar>?) throws -> [UInt8] {
            guard let pointer = body() else { throw PolicyTransportFailure(description: "the OPA engine returned nothing") }
            defer { free(UnsafeMutableRawPointer(pointer)) }
            let length = strlen(pointer)
            return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
        }
    }

    /// One built engine; destroyed when the last evaluation using it lets it go.
    final class Instance: Sendable {
        let library: Library
        let handle: UInt64

        init(_ library: Library, policies: [String: String], data: JSONValue) throws {
            self.library = library
            handle = library.new()
            do {
                for (id, source) in policies.sorted(by: { $0.key < $1.key }) {
                    try EngineEnvelope.check(
                        library.envelope { id.withCString { id in source.withCString { library.addPolicy(handle, id, $0) } } })
                }
                try add(data, at: "")
            } catch {
                library.destroy(handle)
                throw error
            }
        }

        deinit { library.destroy(handle) }

        /// Merges `value` into the data document at `path` (dotted; empty: the root).
        func add(_ value: JSONValue, at path: String) throws {
            let document = String(decoding: value.canonicalBytes, as: UTF8.self)
            try EngineEnvelope.check(
                library.envelope { path.withCString { path in document.withCString { library.addData(handle, path, $0) } } })
        }

        /// `data.<reference>` evaluated with `input`: the document's value, nil when undefined.
        func evaluate(_ reference: String, input: [UInt8]?) throws -> JSONValue? {
            var text = input ?? []
            text.append(0)
            let bytes = try library.envelope {
                reference.withCString { path in
                    text.withUnsafeBufferPointer { input in
                        input.baseAddress!.withMemoryRebound(to: CChar.self, capacity: input.count) {
                            library.evaluate(handle, path, $0, 0, 0)
                        }
                    }
                }
            }
            return try EngineEnvelope.value(bytes)
        }
    }

    private struct Held {
        var policies: [String: String] = [:]
        var data: JSONValue = .object([:])
        var instance: Instance?
    }

    public let libraryPath: String
    private let library: Result<Library, PolicyTransportFailure>
    private let held = Mutex(Held())
    /// Evaluations, spread over a few threads (the engine evaluates concurrently).
    private let lanes: [BlockingLane]
    private let nextLane = Atomic<Int>(0)
    /// Changes, one at a time and in order.
    private let changes: BlockingLane

    /// - Parameter libraryPath: the engine's C library (`libopabridge.so`). A library that does
    ///   not load leaves an engine that answers nothing (every decision fails closed) and says why.
    public init(libraryPath: String, threads: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)) {
        self.libraryPath = libraryPath
        do {
            library = .success(try Library.load(libraryPath))
        } catch let error as PolicyTransportFailure {
            library = .failure(error)
        } catch {
            library = .failure(PolicyTransportFailure(description: "\(error)"))
        }
        let executor = BlockingExecutor(name: "opa-embedded", keptIdle: threads + 1)
        lanes = (0..<threads).map { _ in executor.lane() }
        changes = executor.lane()
    }

    public var location: String { "embedded (\(libraryPath))" }

    /// Why the engine cannot work, if it cannot.
    public var loadError: String? {
        if case .failure(let error) = library { return error.description }
        return nil
    }

    public func shutdown() async {}

    public func isAlive() async -> Bool {
        if case .success = library { return true }
        return false
    }

    public func evaluate(_ path: String, input: [UInt8]?) async throws -> JSONValue? {
        _ = try library.get()
        // Nothing loaded yet: every document is undefined, as in a sidecar that just started.
        guard let instance = held.withLock({ $0.instance }) else { return nil }
        let reference = try Self.reference(path)
        let lane = lanes[nextLane.wrappingAdd(1, ordering: .relaxed).oldValue % lanes.count]
        return try await lane.run { try instance.evaluate(reference, input: input) }
    }

    public func putPolicy(id: String, source: String) async throws {
        try await change { $0.policies[id] = source }
    }

    public func putData(path: String, json: [UInt8]) async throws {
        guard let value = JSONValue.parse(json) else {
            throw PolicyTransportFailure(description: "the document for \(path) is not JSON")
        }
        let segments = path.split(separator: "/").map(String.init)
        let library = try library.get()
        try await changes.run { [self] in
            var next = held.withLock { $0 }
            let isNew = !segments.isEmpty && Self.value(at: segments[...], in: next.data) == nil
            next.data = Self.replacing(segments[...], in: next.data, with: value)
            // A document where there was none (a tenant's first load, a load marker) is added to
            // the engine as it stands; a replaced one means building it again.
            if isNew, !segments.contains(where: { $0.contains(".") }), let instance = next.instance,
                (try? instance.add(value, at: segments.joined(separator: "."))) != nil
            {
                held.withLock { $0.data = next.data }
                return
            }
            next.instance = try Instance(library, policies: next.policies, data: next.data)
            held.withLock { $0 = next }
        }
    }

    /// The value at `path` in `document`, nil when there is none.
    static func value(at path: ArraySlice<String>, in document: JSONValue) -> JSONValue? {
        guard let first = path.first else { return document }
        guard let child = document.objectValue?[first] else { return nil }
        return value(at: path.dropFirst(), in: child)
    }

    /// Applies `edit` to what is held and builds the engine from the result; nothing changes
    /// when the engine refuses it (a module that does not compile).
    private func change(_ edit: @escaping @Sendable (inout Held) -> Void) async throws {
        let library = try library.get()
        try await changes.run { [self] in
            var next = held.withLock { $0 }
            edit(&next)
            next.instance = try Instance(library, policies: next.policies, data: next.data)
            held.withLock { $0 = next }
        }
    }

    /// `document` with the value at `path` replaced (objects made along the way).
    static func replacing(_ path: ArraySlice<String>, in document: JSONValue, with value: JSONValue) -> JSONValue {
        guard let first = path.first else { return value }
        var fields = document.objectValue ?? [:]
        fields[first] = replacing(path.dropFirst(), in: fields[first] ?? .object([:]), with: value)
        return .object(fields)
    }

    /// The Rego reference under `data` for slash-separated segments: an identifier as is,
    /// anything else (a tenant id with a dash) as a quoted key, as OPA's REST API reads them.
    static func reference(_ path: String) throws -> String {
        var reference = ""
        for segment in path.split(separator: "/") {
            let isIdentifier =
                segment.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
                && segment.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
            if isIdentifier {
                reference += (reference.isEmpty ? "" : ".") + segment
            } else {
                guard !segment.utf8.contains(0) else { throw PolicyTransportFailure(description: "a path segment holds NUL") }
                var quoted: [UInt8] = []
                JSONText.appendQuoted(String(segment), to: &quoted)
                reference += "[" + String(decoding: quoted, as: UTF8.self) + "]"
            }
        }
        return reference
    }
}
