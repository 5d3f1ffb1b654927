import AuditLog
import Contracts

/// Records job lifecycle events in the audit log (committed before the worker acknowledges).
public struct AuditRecorder: LifecycleRecorder {
    let writer: AuditWriter

    public init(writer: AuditWriter) {
        self.writer = writer
    }

    public func record(_ events: [JobLifecycleEvent]) async throws {
        try await writer.append(events.map(AuditEvent.init(lifecycle:)))
    }
}
