import Logging

/// Standard-error logging that formats metadata only when something is logged.
///
/// `StreamLogHandler` formats its metadata every time it changes, and the HTTP server gives every
/// request's logger a request id: that formatting would run once per request although almost
/// nothing is logged per request. This handler keeps the metadata as is and hands it to a
/// `StreamLogHandler` with each message, so the output is the same.
struct LazyMetadataLogHandler: LogHandler {
    private var output: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(label: String, level: Logger.Level) {
        output = StreamLogHandler.standardError(label: label)
        output.logLevel = level
    }

    var logLevel: Logger.Level {
        get { output.logLevel }
        set { output.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { output.metadataProvider }
        set { output.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { $1 } }
        output.log(event: event)
    }
}
