/// A Jira Cloud issue as the fake keeps it.
struct JiraIssue: Sendable {
    let id: Int64
    var key: String
    let projectKey: String
    var summary: String
    /// ADF or nil.
    var description: JSON?
    var issueType: JiraIssueType
    var statusId: String
    var priorityId: String?
    var assignee: String?
    var reporter: String?
    var creator: String?
    var watchers: [String]
    var labels: [String]
    var duedate: String?
    let created: Int64
    var updated: Int64
    var resolutionDate: Int64?
    var statusChanged: Int64
    var comments: [JiraComment]

    var status: JiraStatus { JiraStatus.all.first { $0.id == statusId } ?? JiraStatus.all[0] }
}

/// A comment with an ADF body.
struct JiraComment: Sendable {
    let id: String
    let author: String
    let body: JSON
    let created: Int64
    var updated: Int64
    /// Entity properties set with the comment (`properties: [{key, value}]`), shown with
    /// `expand=properties`.
    var properties: [(String, JSON)] = []
}

/// Issue types, each bound to a workflow.
enum JiraIssueType: String, Sendable, CaseIterable {
    case task = "Task"
    case story = "Story"
    case bug = "Bug"

    var id: String {
        switch self {
        case .task: return "10001"
        case .story: return "10002"
        case .bug: return "10004"
        }
    }

    var workflow: JiraWorkflow { self == .bug ? .bugs : .software }

    var description: String {
        switch self {
        case .task: return "A small, distinct piece of work."
        case .story: return "Functionality or a feature expressed as a user goal."
        case .bug: return "A problem or error."
        }
    }

    var icon: String {
        switch self {
        case .task: return "10318"
        case .story: return "10315"
        case .bug: return "10303"
        }
    }
}

/// Statuses and their categories (`new` 2, `indeterminate` 4, `done` 3).
struct JiraStatus: Sendable {
    let id: String
    let name: String
    let categoryId: Int64
    let categoryKey: String
    let categoryName: String
    let color: String
    let icon: String

    static let toDo = JiraStatus(
        id: "10000", name: "To Do", categoryId: 2, categoryKey: "new", categoryName: "To Do", color: "blue-gray", icon: "open.png")
    static let inProgress = JiraStatus(
        id: "3", name: "In Progress", categoryId: 4, categoryKey: "indeterminate", categoryName: "In Progress", color: "yellow",
        icon: "inprogress.png")
    static let inReview = JiraStatus(
        id: "10001", name: "In Review", categoryId: 4, categoryKey: "indeterminate", categoryName: "In Progress", color: "yellow",
        icon: "generic.png")
    static let done = JiraStatus(
        id: "10002", name: "Done", categoryId: 3, categoryKey: "done", categoryName: "Done", color: "green", icon: "closed.png")
    static let all = [toDo, inProgress, inReview, done]

    static func named(_ name: String) -> JiraStatus? { all.first { $0.name.lowercased() == name.lowercased() || $0.id == name } }
}

/// A workflow: which transitions leave which status. Ids are per workflow.
struct JiraWorkflow: Sendable {
    struct Transition: Sendable {
        let id: String
        let name: String
        let from: String
        let to: String
    }

    let transitions: [Transition]

    /// To Do → In Progress → In Review → Done, with the ways back.
    static let software = JiraWorkflow(transitions: [
        Transition(id: "11", name: "Start Progress", from: JiraStatus.toDo.id, to: JiraStatus.inProgress.id),
        Transition(id: "21", name: "Submit for Review", from: JiraStatus.inProgress.id, to: JiraStatus.inReview.id),
        Transition(id: "31", name: "Done", from: JiraStatus.inReview.id, to: JiraStatus.done.id),
        Transition(id: "41", name: "Request Changes", from: JiraStatus.inReview.id, to: JiraStatus.inProgress.id),
        Transition(id: "51", name: "Stop Progress", from: JiraStatus.inProgress.id, to: JiraStatus.toDo.id),
        Transition(id: "61", name: "Reopen", from: JiraStatus.done.id, to: JiraStatus.toDo.id),
    ])

    /// Bugs skip review: To Do → In Progress → Done.
    static let bugs = JiraWorkflow(transitions: [
        Transition(id: "101", name: "Start Fixing", from: JiraStatus.toDo.id, to: JiraStatus.inProgress.id),
        Transition(id: "111", name: "Resolve", from: JiraStatus.inProgress.id, to: JiraStatus.done.id),
        Transition(id: "121", name: "Reopen", from: JiraStatus.done.id, to: JiraStatus.toDo.id),
        Transition(id: "131", name: "Back to To Do", from: JiraStatus.inProgress.id, to: JiraStatus.toDo.id),
    ])

    func available(from status: String) -> [Transition] { transitions.filter { $0.from == status } }

    /// Statuses a generated issue can be in.
    var statuses: [String] { Array(Set(transitions.map(\.to) + transitions.map(\.from))).sorted() }
}

/// Priorities (`1` Highest ... `5` Lowest).
enum JiraPriority {
    static let all: [(id: String, name: String)] = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]

    static func named(_ name: String) -> String? { all.first { $0.name.lowercased() == name.lowercased() || $0.id == name }?.id }

    static func name(_ id: String) -> String { all.first { $0.id == id }?.name ?? "Medium" }
}

/// Atlassian Document Format helpers.
enum ADF {
    /// A document of one paragraph per line of `text`.
    static func document(_ text: String) -> JSON {
        let paragraphs: [JSON] = text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            .object([("type", "paragraph"), ("content", .array([.object([("type", "text"), ("text", .string(String(line)))])]))])
        }
        return .object([("type", "doc"), ("version", 1), ("content", .array(paragraphs))])
    }

    /// Whether `value` is an ADF document (`type: doc`, `version: 1`, `content` array).
    static func isDocument(_ value: JSON?) -> Bool {
        guard let value, value["type"]?.stringValue == "doc", value["version"]?.intValue == 1, value["content"]?.arrayValue != nil else {
            return false
        }
        return true
    }

    /// The plain text of a document.
    static func text(_ value: JSON?) -> String {
        guard let value else { return "" }
        if let text = value["text"]?.stringValue { return text }
        return (value["content"]?.arrayValue ?? []).map { text($0) }.joined(separator: value["type"]?.stringValue == "doc" ? "\n" : "")
    }
}
