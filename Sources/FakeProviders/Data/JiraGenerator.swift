/// Makes the Jira project from the seed: per user, issues assigned to them, reported by them
/// and watched by them, across the workflow, with priorities, due dates (some overdue, some this
/// week), labels and ADF comments.
enum JiraGenerator {
    static let summaries = [
        "Pagination breaks on the search endpoint", "Add SSO login for {project}", "Migrate billing jobs to the new queue",
        "Customer portal: export invoices as PDF", "Flaky test in checkout integration suite", "Rotate the staging database credentials",
        "Document the {project} rollout plan", "Rate limiting for the public API", "Dark mode for the settings page",
        "Timeouts when syncing large mailboxes", "Upgrade TLS certificates on the edge proxies", "Review GDPR data retention for {project}",
        "Improve onboarding emails", "Memory leak in the notification worker", "Add audit log export to CSV",
    ]
    static let labels = ["backend", "frontend", "customer", "security", "tech-debt", "infra", "billing"]
    static let commentTexts = [
        "I looked into this; the root cause is in the retry logic.", "Can we get this done before the release?",
        "PR is up, please review.", "Blocked until the vendor answers.", "Reproduced on staging with the attached steps.",
    ]

    static func issues(store: JiraStore, directory: Directory, perUser: Int, now: Int64, seed: UInt64) -> [JiraIssue] {
        var random = SeededGenerator(seed: seed, purpose: "jira")
        var issues: [JiraIssue] = []
        let staff = directory.staff
        let day: Int64 = 86_400_000
        for user in directory.users {
            for index in 0..<perUser {
                let (id, key) = store.allocate()
                let type = random.pick([JiraIssueType.task, .task, .story, .bug])
                let statuses =
                    [JiraStatus.toDo.id, JiraStatus.inProgress.id, JiraStatus.done.id] + (type == .bug ? [] : [JiraStatus.inReview.id])
                let status = random.pick(statuses)
                let other = random.pick(staff.filter { $0.email != user.email })
                var assignee: String? = random.chance(0.15) ? nil : other.accountId
                var reporter = random.pick(staff).accountId
                var watchers = Array(Set([reporter] + (random.chance(0.4) ? [random.pick(staff).accountId] : [])))
                switch index % 3 {
                case 0: assignee = user.accountId
                case 1: reporter = user.accountId
                default: watchers.append(user.accountId)
                }
                if random.chance(0.3), !watchers.contains(user.accountId) { watchers.append(user.accountId) }
                let created = now - Int64.random(in: day...(90 * day), using: &random)
                let updated = min(now - 60_000, created + Int64.random(in: 0...(30 * day), using: &random))
                var duedate: String?
                if random.chance(0.6) { duedate = Timestamps.date(now + Int64.random(in: (-10)...21, using: &random) * day) }
                var comments: [JiraComment] = []
                for _ in 0..<Int.random(in: 0...3, using: &random) {
                    let time = min(updated, created + Int64.random(in: 0...(10 * day), using: &random))
                    comments.append(
                        JiraComment(
                            id: "0", author: random.pick(staff).accountId, body: ADF.document(random.pick(commentTexts)), created: time,
                            updated: time))
                }
                let summary = MailboxGenerator.fill(random.pick(summaries), ["project": random.pick(MailCorpus.projects)])
                issues.append(
                    JiraIssue(
                        id: id, key: key, projectKey: store.projectKey, summary: summary,
                        description: random.chance(0.8)
                            ? ADF.document("Context: \(summary.lowercased()).\nAcceptance criteria: covered by tests and documented.")
                            : nil,
                        issueType: type, statusId: status, priorityId: random.pick(JiraPriority.all).id, assignee: assignee,
                        reporter: reporter,
                        creator: reporter, watchers: watchers,
                        labels: Array(Set((0..<Int.random(in: 0...2, using: &random)).map { _ in random.pick(labels) })).sorted(),
                        duedate: duedate, created: created, updated: updated, resolutionDate: status == JiraStatus.done.id ? updated : nil,
                        statusChanged: updated, comments: comments))
            }
        }
        var commentId: Int64 = 10_000
        for index in issues.indices {
            for c in issues[index].comments.indices {
                let old = issues[index].comments[c]
                issues[index].comments[c] = JiraComment(
                    id: String(commentId), author: old.author, body: old.body, created: old.created, updated: old.updated)
                commentId += 1
            }
        }
        return issues
    }
}
