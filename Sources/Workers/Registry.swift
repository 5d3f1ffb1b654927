import Contracts
import WorkerRuntime

/// Every kind this executable runs, with its handler. A kind of the catalog missing here is not
/// served by this build (its jobs wait for a build that serves it).
let registeredHandlers: [RegisteredHandler] = [RegisteredHandler(NoopHandler())]
