import Contracts
import Foundation
import ServiceLifecycle

/// The Dispatcher's periodic duties: fire due schedules, expire approvals, restore their
/// indexes, check the policy engine (which also keeps cached decisions usable while traffic is
/// all cache hits).
struct GatewayDuties: Service {
    let gateway: Gateway

    /// How long a schedule occurrence or an approval expiry that failed waits before it is
    /// tried again.
    static let retryDelay: Duration = .seconds(5)

    /// Settles admissions a process left unconfirmed (it died between the audited decision and
    /// the enqueue), once no enqueue can still be under way.
    func reconcileAdmissions() async throws {
        try await gateway.index.sweep(
            RedisKeys.admissions, retryDelay: Self.retryDelay, now: Clock.milliseconds() - gateway.configuration.admissionGrace.milliseconds
        ) { tenant, id, at in
            try await gateway.admission.reconcile(tenant: tenant, jobID: id, admittedAt: at, store: gateway.auditStore)
            return .done
        }
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastExpiry = ContinuousClock.now - .seconds(60)
            var lastReindex = ContinuousClock.now - .seconds(86_400 * 365)
            let probe = Task {
                while !Task.isCancelled {
                    await gateway.decider.isHealthy()
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            defer { probe.cancel() }
            while !Task.isCancelled {
                do {
                    if let every = gateway.configuration.scheduleReindexInterval, ContinuousClock.now - lastReindex >= every {
                        lastReindex = .now
                        do { try await gateway.scheduleRunner.reindex() } catch {
                            gateway.logger.warning("schedule index not restored; retrying later", metadata: ["error": "\(error)"])
                        }
                        do { try await gateway.approvalExpiry.reindex() } catch {
                            gateway.logger.warning("approval expiry index not restored; retrying later", metadata: ["error": "\(error)"])
                        }
                    }
                    try await gateway.scheduleRunner.fireDue()
                    try await reconcileAdmissions()
                    if ContinuousClock.now - lastExpiry >= .seconds(10) {
                        lastExpiry = .now
                        try await gateway.approvalExpiry.sweepOnce()
                    }
                } catch {
                    gateway.logger.warning("gateway duty failed; retrying", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: gateway.configuration.schedulerInterval)
            }
        }
    }
}
