import Contracts
import Metrics

/// The worker's metrics for one kind, emitted through swift-metrics (the executable bootstraps
/// the Prometheus backend).
struct WorkerMetrics: Sendable {
    let processed: Counter
    let failed: Counter
    let retried: Counter
    let deadLettered: Counter
    let cancelled: Counter
    let duration: Timer
    let depth: Gauge
    let lag: Gauge
    let pending: Gauge
    let delayed: Gauge
    let deadLetters: Gauge
    let inFlight: Gauge

    init(kind: JobKind) {
        let dimensions = [("kind", kind.rawValue)]
        processed = Counter(label: "oc_jobs_processed_total", dimensions: dimensions)
        failed = Counter(label: "oc_jobs_failed_total", dimensions: dimensions)
        retried = Counter(label: "oc_jobs_retried_total", dimensions: dimensions)
        deadLettered = Counter(label: "oc_jobs_dead_lettered_total", dimensions: dimensions)
        cancelled = Counter(label: "oc_jobs_cancelled_total", dimensions: dimensions)
        duration = Timer(label: "oc_job_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        depth = Gauge(label: "oc_queue_depth", dimensions: dimensions)
        lag = Gauge(label: "oc_queue_lag", dimensions: dimensions)
        pending = Gauge(label: "oc_queue_pending", dimensions: dimensions)
        delayed = Gauge(label: "oc_queue_delayed", dimensions: dimensions)
        deadLetters = Gauge(label: "oc_queue_dead_letters", dimensions: dimensions)
        inFlight = Gauge(label: "oc_jobs_in_flight", dimensions: dimensions)
    }
}
