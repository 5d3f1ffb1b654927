/// A JQL subset: clauses on `project`, `key`, `id`, `assignee`, `reporter`, `creator`,
/// `watcher`, `status`, `statusCategory`, `priority`, `labels`, `type`, `duedate`, `created`,
/// `updated`, `resolution`, `resolutiondate`, `summary`, `description`, `text`, `comment` with
/// `= != > >= < <= ~ !~ IN NOT IN IS IS NOT`, `AND OR NOT ( )`, the functions `currentUser()`,
/// `now()`, `startOfDay()`, `endOfDay()`, `startOfWeek()`, `EMPTY`, relative dates (`-7d`), and
/// `ORDER BY`.
struct JQLQuery {
    typealias Predicate = @Sendable (JiraIssue, JQLContext) -> Bool

    /// Why a query is refused: the vendor's message.
    struct Invalid: Error {
        let message: String
    }

    let predicate: Predicate
    /// Whether the query restricts anything (a bare `ORDER BY` does not).
    let bounded: Bool
    let order: [(field: String, descending: Bool)]

    static let fields: Set<String> = [
        "project", "key", "issuekey", "id", "assignee", "reporter", "creator", "watcher", "status", "statuscategory", "priority", "labels",
        "type", "issuetype", "duedate", "due", "created", "createddate", "updated", "updateddate", "resolution", "resolutiondate",
        "resolved", "summary", "description", "text", "comment",
    ]

    static func parse(_ text: String) throws(Invalid) -> JQLQuery {
        var lexer = JQLLexer(text)
        let tokens = try lexer.tokens()
        var parser = JQLParser(tokens: tokens)
        return try parser.query()
    }
}

/// Who is asking and when, for `currentUser()` and relative dates.
struct JQLContext: Sendable {
    let accountId: String
    let now: Int64
    /// Lowercased emails and display names → account ids.
    let accounts: [String: String]
}

enum JQLToken: Equatable {
    case word(String)
    case string(String)
    case op(String)
    case open, close, comma
}

struct JQLLexer {
    private let chars: [Character]
    private var index = 0

    init(_ text: String) { chars = Array(text) }

    mutating func tokens() throws(JQLQuery.Invalid) -> [JQLToken] {
        var out: [JQLToken] = []
        while index < chars.count {
            let c = chars[index]
            if c.isWhitespace {
                index += 1
            } else if c == "(" {
                out.append(.open)
                index += 1
            } else if c == ")" {
                out.append(.close)
                index += 1
            } else if c == "," {
                out.append(.comma)
                index += 1
            } else if c == "\"" || c == "'" {
                index += 1
                var value = ""
                while index < chars.count, chars[index] != c {
                    if chars[index] == "\\", index + 1 < chars.count { index += 1 }
                    value.append(chars[index])
                    index += 1
                }
                guard index < chars.count else {
                    throw JQLQuery.Invalid(
                        message: "Error in the JQL Query: The quoted string '\(value)' has not been completed. (line 1, character \(index))"
                    )
                }
                index += 1
                out.append(.string(value))
            } else if "=!<>~".contains(c) {
                var op = String(c)
                index += 1
                if index < chars.count, "=~".contains(chars[index]) {
                    op.append(chars[index])
                    index += 1
                }
                out.append(.op(op))
            } else {
                var word = ""
                while index < chars.count, !chars[index].isWhitespace, !"()=,!<>~\"'".contains(chars[index]) {
                    word.append(chars[index])
                    index += 1
                }
                out.append(.word(word))
            }
        }
        return out
    }
}

struct JQLParser {
    let tokens: [JQLToken]
    var index = 0
    var clauses = 0

    init(tokens: [JQLToken]) { self.tokens = tokens }

    private func peek() -> JQLToken? { index < tokens.count ? tokens[index] : nil }

    private func isWord(_ word: String, at offset: Int = 0) -> Bool {
        guard index + offset < tokens.count, case .word(let value) = tokens[index + offset] else { return false }
        return value.lowercased() == word
    }

    private func error(_ detail: String) -> JQLQuery.Invalid {
        JQLQuery.Invalid(message: "Error in the JQL Query: \(detail) (line 1, character \(index + 1))")
    }

    mutating func query() throws(JQLQuery.Invalid) -> JQLQuery {
        var predicate: JQLQuery.Predicate = { _, _ in true }
        if peek() != nil, !(isWord("order") && isWord("by", at: 1)) { predicate = try orExpression() }
        var order: [(String, Bool)] = []
        if isWord("order") {
            guard isWord("by", at: 1) else { throw error("Expecting 'BY' but got '\(peek().map { "\($0)" } ?? "")'.") }
            index += 2
            while case .word(let field)? = peek() {
                index += 1
                var descending = false
                if isWord("desc") {
                    descending = true
                    index += 1
                } else if isWord("asc") {
                    index += 1
                }
                guard JQLQuery.fields.contains(field.lowercased()) else {
                    throw JQLQuery.Invalid(message: "Not able to sort using field '\(field)'.")
                }
                order.append((field.lowercased(), descending))
                if peek() == .comma { index += 1 } else { break }
            }
        }
        guard index == tokens.count else { throw error("Expecting either 'OR' or 'AND' but got '\(tokens[index])'.") }
        return JQLQuery(predicate: predicate, bounded: clauses > 0, order: order)
    }

    private mutating func orExpression() throws(JQLQuery.Invalid) -> JQLQuery.Predicate {
        var left = try andExpression()
        while isWord("or") {
            index += 1
            let right = try andExpression()
            let previous = left
            left = { previous($0, $1) || right($0, $1) }
        }
        return left
    }

    private mutating func andExpression() throws(JQLQuery.Invalid) -> JQLQuery.Predicate {
        var left = try notExpression()
        while isWord("and") {
            index += 1
            let right = try notExpression()
            let previous = left
            left = { previous($0, $1) && right($0, $1) }
        }
        return left
    }

    private mutating func notExpression() throws(JQLQuery.Invalid) -> JQLQuery.Predicate {
        if isWord("not") {
            index += 1
            let inner = try notExpression()
            return { !inner($0, $1) }
        }
        if peek() == .open {
            index += 1
            let inner = try orExpression()
            guard peek() == .close else { throw error("Expecting ')'.") }
            index += 1
            return inner
        }
        return try clause()
    }

    private mutating func value() throws(JQLQuery.Invalid) -> JQLValue {
        guard let token = peek() else { throw error("Expecting a value.") }
        index += 1
        switch token {
        case .string(let text): return .text(text)
        case .word(let word):
            if peek() == .open {
                index += 1
                var arguments: [String] = []
                while let next = peek(), next != .close {
                    index += 1
                    switch next {
                    case .word(let text), .string(let text): arguments.append(text)
                    default: break
                    }
                }
                guard peek() == .close else { throw error("Expecting ')'.") }
                index += 1
                return .function(word.lowercased(), arguments)
            }
            if word.lowercased() == "empty" || word.lowercased() == "null" { return .empty }
            return .text(word)
        default:
            throw error("Expecting a value but got '\(token)'.")
        }
    }

    private mutating func clause() throws(JQLQuery.Invalid) -> JQLQuery.Predicate {
        guard case .word(let rawField)? = peek() ?? nil else { throw error("Expecting a field name.") }
        index += 1
        let field = rawField.lowercased()
        guard JQLQuery.fields.contains(field) || field.hasPrefix("cf[") else {
            throw JQLQuery.Invalid(message: "Field '\(rawField)' does not exist or you do not have permission to view it.")
        }
        clauses += 1
        var op: String
        if case .op(let symbol)? = peek() {
            op = symbol
            index += 1
        } else if isWord("in") {
            op = "in"
            index += 1
        } else if isWord("not"), isWord("in", at: 1) {
            op = "not in"
            index += 2
        } else if isWord("is"), isWord("not", at: 1) {
            op = "is not"
            index += 2
        } else if isWord("is") {
            op = "is"
            index += 1
        } else {
            throw error("Expecting operator but got '\(peek().map { "\($0)" } ?? "end")'.")
        }
        var values: [JQLValue] = []
        if op == "in" || op == "not in" {
            guard peek() == .open else { throw error("Expecting '(' after IN.") }
            index += 1
            while peek() != .close {
                values.append(try value())
                if peek() == .comma { index += 1 }
                guard peek() != nil else { throw error("Expecting ')'.") }
            }
            index += 1
        } else {
            values.append(try value())
        }
        return JQLEvaluation.predicate(field: field, op: op, values: values)
    }
}

/// A value on the right of a JQL operator.
enum JQLValue: Sendable {
    case text(String)
    case empty
    case function(String, [String])
}
