import Foundation

/// Turns a parsed JQL clause into a predicate over issues.
enum JQLEvaluation {
    /// The values of a text-like field of an issue, lowercased.
    static func values(_ field: String, _ issue: JiraIssue) -> [String] {
        switch field {
        case "project": return [issue.projectKey.lowercased()]
        case "key", "issuekey": return [issue.key.lowercased()]
        case "id": return [String(issue.id)]
        case "assignee": return issue.assignee.map { [$0.lowercased()] } ?? []
        case "reporter": return issue.reporter.map { [$0.lowercased()] } ?? []
        case "creator": return issue.creator.map { [$0.lowercased()] } ?? []
        case "watcher": return issue.watchers.map { $0.lowercased() }
        case "status": return [issue.status.name.lowercased(), issue.status.id]
        case "statuscategory":
            return [issue.status.categoryName.lowercased(), issue.status.categoryKey, String(issue.status.categoryId)]
        case "priority": return issue.priorityId.map { [JiraPriority.name($0).lowercased(), $0] } ?? []
        case "labels": return issue.labels.map { $0.lowercased() }
        case "type", "issuetype": return [issue.issueType.rawValue.lowercased(), issue.issueType.id]
        case "resolution": return issue.status.categoryKey == "done" ? ["done", "10000"] : []
        default: return []
        }
    }

    static func dateValue(_ field: String, _ issue: JiraIssue) -> Int64? {
        switch field {
        case "duedate", "due": return issue.duedate.flatMap(Timestamps.parseDate)
        case "created", "createddate": return issue.created
        case "updated", "updateddate": return issue.updated
        case "resolutiondate", "resolved": return issue.resolutionDate
        default: return nil
        }
    }

    static func textValue(_ field: String, _ issue: JiraIssue) -> String {
        switch field {
        case "summary": return issue.summary.lowercased()
        case "description": return ADF.text(issue.description).lowercased()
        case "comment": return issue.comments.map { ADF.text($0.body) }.joined(separator: " ").lowercased()
        default:
            return
                (issue.summary + " " + ADF.text(issue.description) + " " + issue.comments.map { ADF.text($0.body) }.joined(separator: " "))
                .lowercased()
        }
    }

    /// A value as the strings it may match (`currentUser()` → the account id; people by email or name).
    static func resolve(_ value: JQLValue, field: String, context: JQLContext) -> [String] {
        switch value {
        case .empty: return []
        case .function(let name, _):
            return name == "currentuser" ? [context.accountId.lowercased()] : []
        case .text(let text):
            let lower = text.lowercased()
            if ["assignee", "reporter", "creator", "watcher"].contains(field), let account = context.accounts[lower] {
                return [account.lowercased()]
            }
            if field == "priority", let id = JiraPriority.named(text) { return [id] }
            return [lower]
        }
    }

    /// Epoch ms of a date value: `2024-05-01`, `2024/05/01 13:00`, `-7d`, `now()`, `startOfDay(-1)`, ...
    static func date(_ value: JQLValue, now: Int64) -> Int64? {
        let day: Int64 = 86_400_000
        let today = now - now % day
        switch value {
        case .empty: return nil
        case .function(let name, let arguments):
            let shift = arguments.first.flatMap { relative($0) } ?? 0
            switch name {
            case "now": return now + shift
            case "startofday": return today + shift
            case "endofday": return today + day - 1 + shift
            case "startofweek": return today - Timestamps.weekday(today / day) * day + shift
            case "endofweek": return today + (7 - Timestamps.weekday(today / day)) * day - 1 + shift
            case "startofmonth": return today - (Timestamps.civil(days: today / day).day - 1) * day + shift
            default: return nil
            }
        case .text(let text):
            if let span = relative(text) { return now + span }
            let normalized = text.replacingSlashes
            if let millis = Timestamps.parseDate(String(normalized.prefix(10))) {
                let rest = normalized.dropFirst(10).trimmingSpaces
                let parts = rest.split(separator: ":")
                if parts.count == 2, let h = Int64(parts[0]), let m = Int64(parts[1]) { return millis + (h * 60 + m) * 60_000 }
                return millis
            }
            return nil
        }
    }

    /// `-7d`, `2w`, `-4h`, `30m` in milliseconds.
    static func relative(_ text: String) -> Int64? {
        var total: Int64 = 0
        var number = ""
        var sign: Int64 = 1
        var any = false
        for character in text.replacingOccurrences(of: " ", with: "") {
            if character == "-" {
                sign = -1
                continue
            }
            if character == "+" { continue }
            if character.isNumber {
                number.append(character)
                continue
            }
            guard let count = Int64(number) else { return nil }
            let unit: Int64
            switch character {
            case "w": unit = 7 * 86_400_000
            case "d": unit = 86_400_000
            case "h": unit = 3_600_000
            case "m": unit = 60_000
            default: return nil
            }
            total += count * unit
            number = ""
            any = true
        }
        return any && number.isEmpty ? sign * total : nil
    }

    static func predicate(field: String, op: String, values: [JQLValue]) -> JQLQuery.Predicate {
        let dateFields: Set<String> = ["duedate", "due", "created", "createddate", "updated", "updateddate", "resolutiondate", "resolved"]
        let textFields: Set<String> = ["summary", "description", "text", "comment"]
        if op == "is" || op == "is not" {
            let wantEmpty = op == "is"
            return { issue, _ in
                let empty: Bool
                if dateFields.contains(field) { empty = dateValue(field, issue) == nil } else { empty = Self.values(field, issue).isEmpty }
                return empty == wantEmpty
            }
        }
        if textFields.contains(field) {
            let needles = values.compactMap { value -> String? in
                if case .text(let text) = value { return text.lowercased() } else { return nil }
            }
            return { issue, _ in
                let haystack = textValue(field, issue)
                let found = needles.allSatisfy { needle in
                    needle.split(separator: " ").allSatisfy { haystack.contains($0.trimmingCharacters(in: ["*"])) }
                }
                return op == "!~" ? !found : found
            }
        }
        if dateFields.contains(field) {
            return { issue, context in
                guard let actual = dateValue(field, issue) else { return op == "!=" }
                let bounds = values.compactMap { date($0, now: context.now) }
                guard let bound = bounds.first else { return false }
                switch op {
                case "=": return actual == bound || (actual >= bound && actual < bound + 86_400_000)
                case "!=": return !(actual >= bound && actual < bound + 86_400_000)
                case ">": return actual > bound
                case ">=": return actual >= bound
                case "<": return actual < bound
                case "<=": return actual <= bound
                case "in": return bounds.contains(actual)
                case "not in": return !bounds.contains(actual)
                default: return false
                }
            }
        }
        return { issue, context in
            let actual = Self.values(field, issue)
            let wanted = values.flatMap { resolve($0, field: field, context: context) }
            let wantsEmpty = values.contains { if case .empty = $0 { return true } else { return false } }
            let hit = actual.contains { wanted.contains($0) } || (wantsEmpty && actual.isEmpty)
            switch op {
            case "=", "in", "~": return hit
            case "!=", "not in", "!~": return !hit
            default: return false
            }
        }
    }
}

extension String {
    var replacingSlashes: String { String(map { $0 == "/" ? "-" : $0 }) }
}
