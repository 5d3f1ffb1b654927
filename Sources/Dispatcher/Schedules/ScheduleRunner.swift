import Admission
import AuditLog
import Contracts
import Foundation
import Logging

/// Fires due schedules. Any number of Dispatchers run it: an occurrence is claimed under the
/// schedule row's lock and fired with an idempotency key naming the occurrence, so each fires
/// once even if a Dispatcher dies mid-way. After downtime a missed schedule fires once (not
/// once per missed occurrence) and continues from the next future time.
struct ScheduleRunner: Sendable {
    let store: ScheduleStore
    let admission: AdmissionService
    let index: TenantIndex
    let logger: Logger

    /// Puts every active schedule of `tenants` (none given: every tenant) back in the index where
    /// it is missing (the index lives in Redis; PostgreSQL holds the schedules). Members present
    /// keep their time.
    func reindex(tenants: [TenantID] = []) async throws {
        try await index.restore(RedisKeys.scheduleIndex, tenants: tenants, from: ScheduleStore.activeIndexQuery)
    }

    func fireDue(now: Date = Date()) async throws {
        try await index.sweep(RedisKeys.scheduleIndex, retryDelay: GatewayDuties.retryDelay, now: Clock.milliseconds(now)) {
            tenant, id, _ in
            do {
                return try await fire(tenant: tenant, id: id, now: now)
            } catch let error as FleetError where !error.isUnavailable && !error.isInternal {
                // The stored job is not one this Dispatcher accepts (a newer one may): the
                // occurrence stays due, tried again in an hour, and said loudly meanwhile.
                logger.error(
                    "schedule's job is not accepted; retrying in an hour",
                    metadata: ["tenant": "\(tenant)", "schedule": "\(id)", "problem": "\(error.message)"])
                return .retry(after: .seconds(3600))
            }
        }
    }

    private func fire(tenant: TenantID, id: String, now: Date) async throws -> TenantIndex.Step {
        let nowMs = Clock.milliseconds(now)
        let next: Int64? = try await store.tenants.session(tenant) { connection in
            guard let due = try await store.lockDue(connection, id: id), let zone = TimeZone(identifier: due.timeZone),
                let cron = try? CronExpression(due.cron)
            else { return nil }
            // Another Dispatcher fired it already: just fix the index.
            if due.occurrence > nowMs { return due.occurrence }
            let following = cron.next(after: max(now, Clock.date(milliseconds: due.occurrence)), in: zone)
            try await launch(due.template, tenant: tenant, scheduleID: id, occurrence: due.occurrence)
            try await store.markFired(connection, id: id, occurrence: due.occurrence, next: following)
            return following.map { Clock.milliseconds($0) }
        }
        return next.map { .next(at: $0) } ?? .done
    }

    /// Submits one occurrence as the schedule's creator, through the same admission as the API.
    /// With the policy engine down the occurrence is not consumed: it fires when it is back.
    private func launch(_ template: [String: JSONValue], tenant: TenantID, scheduleID: String, occurrence: Int64) async throws {
        let job = try JobDescription(object: template.filter { JobDescription.fields.contains($0.key) && $0.key != "run_at" }, path: "job.")
        let identity = Identity(
            tenant: tenant, user: template["user"]?.stringValue ?? "", org: template["org"]?.stringValue ?? "",
            team: template["team"]?.stringValue ?? "",
            roles: Set((template["roles"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(Role.init(rawValue:)) }))
        _ = try await admission.admit(
            AdmissionRequest(
                identity: identity, job: job, channel: .schedule, requestID: "schedule-\(scheduleID)-\(occurrence)",
                idempotencyKey: "schedule:\(scheduleID):\(occurrence)",
                detail: ["schedule_id": scheduleID, "occurrence": String(occurrence)], auditsUnavailableEngine: false))
    }
}
