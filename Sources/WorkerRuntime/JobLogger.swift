import Contracts
import Logging

/// Logs for one job with its id, kind, tenant and attempt as metadata.
///
/// The metadata is built only for messages that pass the log level: setting metadata on a
/// `Logger` per job would cost more than a no-op job itself.
public struct JobLogger: Sendable {
    let base: Logger
    let jobID: String
    let kind: JobKind
    let tenant: TenantID
    let attempt: Int

    public init(base: Logger, jobID: String, kind: JobKind, tenant: TenantID, attempt: Int) {
        self.base = base
        self.jobID = jobID
        self.kind = kind
        self.tenant = tenant
        self.attempt = attempt
    }

    /// The job's metadata merged with `extra`.
    func metadata(_ extra: Logger.Metadata?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "job.id": "\(jobID)", "job.kind": "\(kind.rawValue)", "tenant": "\(tenant.rawValue)", "job.attempt": "\(attempt)",
        ]
        if let extra { metadata.merge(extra) { _, new in new } }
        return metadata
    }

    public func log(
        _ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, metadata extra: @autoclosure () -> Logger.Metadata? = nil
    ) {
        guard base.logLevel <= level else { return }
        base.log(level: level, message(), metadata: metadata(extra()))
    }

    public func debug(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(.debug, message(), metadata: metadata())
    }

    public func info(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(.info, message(), metadata: metadata())
    }

    public func warning(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(.warning, message(), metadata: metadata())
    }

    public func error(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(.error, message(), metadata: metadata())
    }

    /// A `Logger` carrying the job's metadata, for code that takes a `Logger`.
    public var logger: Logger {
        var logger = base
        for (key, value) in metadata(nil) { logger[metadataKey: key] = value }
        return logger
    }
}
