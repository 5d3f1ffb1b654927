import Connectors
import Contracts
import Settings
import WorkerRuntime

/// Every kind this executable runs, with its handler. A kind of the catalog missing here is not
/// served by this build (its jobs wait, and their status says no worker serves them).
enum Registry {
    /// The kinds this build handles.
    static let kinds: [JobKind] = [.noop, .connectorSync, .classifier, .autoResponder, .briefing]

    /// The handlers of `kinds`, built from the settings; fails with what to configure.
    static func handlers(
        for kinds: [JobKind], settings: FleetSettings, secrets: () throws(FleetError) -> SecretBox
    ) throws(FleetError)
        -> [RegisteredHandler]
    {
        var out: [RegisteredHandler] = []
        for kind in kinds {
            switch kind {
            case .noop: out.append(RegisteredHandler(NoopHandler()))
            case .connectorSync:
                out.append(RegisteredHandler(ConnectorSyncHandler(settings: settings.providers, secrets: try secrets())))
            case .classifier:
                out.append(RegisteredHandler(ClassifierHandler(settings: settings.providers, secrets: try secrets())))
            case .autoResponder:
                out.append(RegisteredHandler(AutoResponderHandler(settings: settings.providers, secrets: try secrets())))
            case .briefing:
                out.append(RegisteredHandler(BriefingHandler(settings: settings.providers, secrets: try secrets())))
            default:
                throw FleetError(
                    .invalidConfiguration,
                    "this build does not run '\(kind)' jobs; it runs \(Self.kinds.map(\.rawValue).joined(separator: ", "))")
            }
        }
        return out
    }
}
