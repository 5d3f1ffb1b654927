/// Jira Cloud REST v3 JSON: users, statuses, issues with a field selection, comments,
/// transitions. `base` is the URL prefix of the request (`.../ex/jira/{cloudid}` or the site).
struct JiraRepresentation {
    let base: String
    let directory: Directory
    let store: JiraStore

    static let navigable = [
        "statuscategorychangedate", "issuetype", "project", "created", "priority", "labels", "assignee", "updated", "status", "description",
        "summary", "creator", "reporter", "duedate", "resolution", "resolutiondate", "watches", "comment", "lastViewed", "subtasks",
        "issuelinks", "fixVersions", "components", "votes",
    ]

    func avatars(_ seed: String) -> JSON {
        let url =
            "https://secure.gravatar.com/avatar/\(seed)?d=https%3A%2F%2Favatar-management--avatars.us-west-2.prod.public.atl-paas.net%2Finitials%2F"
        return .object([
            ("48x48", .string(url + "48")), ("24x24", .string(url + "24")), ("16x16", .string(url + "16")), ("32x32", .string(url + "32")),
        ])
    }

    func user(_ accountId: String?) -> JSON {
        guard let accountId else { return .null }
        let person = directory.person(accountId: accountId)
        return .object([
            ("self", .string("\(base)/rest/api/3/user?accountId=\(accountId)")), ("accountId", .string(accountId)),
            ("emailAddress", .string(person?.email ?? "")), ("avatarUrls", avatars(String(accountId.suffix(12)))),
            ("displayName", .string(person?.name ?? "Former user")), ("active", .bool(person != nil)),
            ("timeZone", .string(person?.timeZone ?? "Etc/UTC")), ("accountType", "atlassian"),
        ])
    }

    func status(_ status: JiraStatus) -> JSON {
        .object([
            ("self", .string("\(base)/rest/api/3/status/\(status.id)")), ("description", ""),
            ("iconUrl", .string("\(base)/images/icons/statuses/\(status.icon)")), ("name", .string(status.name)),
            ("id", .string(status.id)),
            (
                "statusCategory",
                .object([
                    ("self", .string("\(base)/rest/api/3/statuscategory/\(status.categoryId)")), ("id", .int(status.categoryId)),
                    ("key", .string(status.categoryKey)), ("colorName", .string(status.color)), ("name", .string(status.categoryName)),
                ])
            ),
        ])
    }

    func project() -> JSON {
        .object([
            ("self", .string("\(base)/rest/api/3/project/10000")), ("id", "10000"), ("key", .string(store.projectKey)),
            ("name", .string(store.projectName)), ("projectTypeKey", "software"), ("simplified", false),
            ("avatarUrls", avatars("project")),
        ])
    }

    func comment(_ comment: JiraComment, issueId: Int64, expandProperties: Bool = false) -> JSON {
        var fields: [(String, JSON)] = [
            ("self", .string("\(base)/rest/api/3/issue/\(issueId)/comment/\(comment.id)")), ("id", .string(comment.id)),
            ("author", user(comment.author)), ("body", comment.body), ("updateAuthor", user(comment.author)),
            ("created", .string(Timestamps.jira(comment.created))), ("updated", .string(Timestamps.jira(comment.updated))),
            ("jsdPublic", true),
        ]
        if expandProperties {
            fields.append(("properties", .array(comment.properties.map { .object([("key", .string($0.0)), ("value", $0.1)]) })))
        }
        return .object(fields)
    }

    func value(of field: String, _ issue: JiraIssue, viewer: String?) -> JSON? {
        switch field {
        case "summary": return .string(issue.summary)
        case "status": return status(issue.status)
        case "assignee": return user(issue.assignee)
        case "reporter": return user(issue.reporter)
        case "creator": return user(issue.creator ?? issue.reporter)
        case "priority":
            guard let id = issue.priorityId else { return .null }
            let name = JiraPriority.name(id)
            return .object([
                ("self", .string("\(base)/rest/api/3/priority/\(id)")),
                ("iconUrl", .string("\(base)/images/icons/priorities/\(name.lowercased()).svg")),
                ("name", .string(name)), ("id", .string(id)),
            ])
        case "duedate": return issue.duedate.map { .string($0) } ?? .null
        case "created": return .string(Timestamps.jira(issue.created))
        case "updated": return .string(Timestamps.jira(issue.updated))
        case "statuscategorychangedate": return .string(Timestamps.jira(issue.statusChanged))
        case "labels": return .array(issue.labels.map { .string($0) })
        case "issuetype":
            return .object([
                ("self", .string("\(base)/rest/api/3/issuetype/\(issue.issueType.id)")), ("id", .string(issue.issueType.id)),
                ("description", .string(issue.issueType.description)),
                ("iconUrl", .string("\(base)/rest/api/2/universal_avatar/view/type/issuetype/avatar/\(issue.issueType.icon)?size=medium")),
                ("name", .string(issue.issueType.rawValue)), ("subtask", false), ("avatarId", .int(Int64(issue.issueType.icon) ?? 0)),
                ("hierarchyLevel", 0),
            ])
        case "project": return project()
        case "description": return issue.description ?? .null
        case "resolution":
            guard issue.status.categoryKey == "done" else { return .null }
            return .object([
                ("self", .string("\(base)/rest/api/3/resolution/10000")), ("id", "10000"),
                ("description", "Work has been completed on this issue."),
                ("name", "Done"),
            ])
        case "resolutiondate": return issue.resolutionDate.map { .string(Timestamps.jira($0)) } ?? .null
        case "watches":
            return .object([
                ("self", .string("\(base)/rest/api/3/issue/\(issue.key)/watchers")), ("watchCount", .int(Int64(issue.watchers.count))),
                ("isWatching", .bool(viewer.map { issue.watchers.contains($0) } ?? false)),
            ])
        case "comment":
            return .object([
                ("comments", .array(issue.comments.map { comment($0, issueId: issue.id) })),
                ("self", .string("\(base)/rest/api/3/issue/\(issue.id)/comment")), ("maxResults", .int(Int64(issue.comments.count))),
                ("total", .int(Int64(issue.comments.count))), ("startAt", 0),
            ])
        case "lastViewed": return .null
        case "subtasks", "issuelinks", "fixVersions", "components": return .array([])
        case "votes":
            return .object([("self", .string("\(base)/rest/api/3/issue/\(issue.key)/votes")), ("votes", 0), ("hasVoted", false)])
        default: return nil
        }
    }

    /// The fields a `fields` parameter selects (`*all`, `*navigable`, names, `-name`).
    static func selection(_ parameter: [String], defaultAll: Bool) -> [String] {
        let items = parameter.flatMap { $0.split(separator: ",").map { String($0).trimmingSpaces } }.filter { !$0.isEmpty }
        var chosen: [String] = items.isEmpty ? (defaultAll ? navigable : ["id"]) : []
        for item in items where !item.hasPrefix("-") {
            if item == "*all" || item == "*navigable" {
                chosen += navigable
            } else {
                chosen.append(item)
            }
        }
        let excluded = Set(items.filter { $0.hasPrefix("-") }.map { String($0.dropFirst()) })
        var seen: Set<String> = []
        return chosen.filter { !excluded.contains($0) && seen.insert($0).inserted }
    }

    func issue(_ issue: JiraIssue, fields: [String], viewer: String?, expand: [String] = []) -> JSON {
        if fields == ["id"] && expand.isEmpty { return .object([("id", .string(String(issue.id)))]) }
        var values: [(String, JSON)] = []
        for field in fields where field != "id" && field != "key" {
            if let value = value(of: field, issue, viewer: viewer) { values.append((field, value)) }
        }
        var object: [(String, JSON)] = [
            ("expand", "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"),
            ("id", .string(String(issue.id))),
            ("self", .string("\(base)/rest/api/3/issue/\(issue.id)")), ("key", .string(issue.key)), ("fields", .object(values)),
        ]
        if expand.contains("transitions") { object.append(("transitions", .array(transitions(issue)))) }
        return .object(object)
    }

    func transitions(_ issue: JiraIssue) -> [JSON] {
        issue.issueType.workflow.available(from: issue.statusId).map { transition in
            .object([
                ("id", .string(transition.id)), ("name", .string(transition.name)),
                ("to", status(JiraStatus.all.first { $0.id == transition.to }!)), ("hasScreen", false), ("isGlobal", false),
                ("isInitial", false),
                ("isAvailable", true), ("isConditional", false), ("isLooped", false),
            ])
        }
    }
}
