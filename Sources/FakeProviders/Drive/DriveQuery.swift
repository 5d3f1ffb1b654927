/// Drive's search query language (`q` of `files.list`): `name`, `fullText`, `mimeType`,
/// `modifiedTime`, `createdTime`, `trashed`, `starred`, `parents`, `owners`, `sharedWithMe`,
/// `visibility`, with `=`, `!=`, `<`, `<=`, `>`, `>=`, `contains`, `in`, `and`, `or`, `not`, `( )`.
struct DriveQuery {
    typealias Predicate = (DriveFile) -> Bool

    /// Why a query is refused (400 `invalid` "Invalid Value" at `q`).
    struct Invalid: Error {}

    private enum Token: Equatable {
        case word(String)
        case string(String)
        case op(String)
        case open, close
    }

    private var tokens: [Token]
    private var index = 0
    private let me: String

    static func compile(_ text: String, me: String) throws(Invalid) -> Predicate {
        var parser = DriveQuery(tokens: try tokenize(text), me: me)
        let predicate = try parser.expression()
        guard parser.index == parser.tokens.count else { throw Invalid() }
        return predicate
    }

    private init(tokens: [Token], me: String) {
        self.tokens = tokens
        self.me = me
    }

    private static func tokenize(_ text: String) throws(Invalid) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" {
                i += 1
            } else if c == "(" {
                tokens.append(.open)
                i += 1
            } else if c == ")" {
                tokens.append(.close)
                i += 1
            } else if c == "'" || c == "\"" {
                var value = ""
                i += 1
                while i < chars.count, chars[i] != c {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    value.append(chars[i])
                    i += 1
                }
                guard i < chars.count else { throw Invalid() }
                i += 1
                tokens.append(.string(value))
            } else if "=!<>".contains(c) {
                var op = String(c)
                if i + 1 < chars.count, chars[i + 1] == "=" {
                    op.append("=")
                    i += 1
                }
                guard op != "!" else { throw Invalid() }
                tokens.append(.op(op))
                i += 1
            } else {
                var word = ""
                while i < chars.count, !" \t\n()=!<>'\"".contains(chars[i]) {
                    word.append(chars[i])
                    i += 1
                }
                tokens.append(.word(word))
            }
        }
        return tokens
    }

    private mutating func next() -> Token? {
        guard index < tokens.count else { return nil }
        defer { index += 1 }
        return tokens[index]
    }

    private func peekWord(_ word: String) -> Bool {
        guard index < tokens.count, case .word(let value) = tokens[index] else { return false }
        return value.lowercased() == word
    }

    private mutating func expression() throws(Invalid) -> Predicate {
        var left = try conjunction()
        while peekWord("or") {
            index += 1
            let right = try conjunction()
            let previous = left
            left = { previous($0) || right($0) }
        }
        return left
    }

    private mutating func conjunction() throws(Invalid) -> Predicate {
        var left = try term()
        while peekWord("and") {
            index += 1
            let right = try term()
            let previous = left
            left = { previous($0) && right($0) }
        }
        return left
    }

    private mutating func term() throws(Invalid) -> Predicate {
        if peekWord("not") {
            index += 1
            let inner = try term()
            return { !inner($0) }
        }
        guard let token = next() else { throw Invalid() }
        switch token {
        case .open:
            let inner = try expression()
            guard next() == .close else { throw Invalid() }
            return inner
        case .string(let value):
            guard case .word(let keyword)? = next(), keyword.lowercased() == "in", case .word(let field)? = next() else { throw Invalid() }
            let me = self.me
            let subject = value == "me" ? me : value
            switch field {
            case "parents": return { $0.parents.contains(value) }
            case "owners", "writers": return { $0.owner == subject }
            case "readers": return { $0.owner == subject || $0.sharedPublicly }
            default: throw Invalid()
            }
        case .word(let field):
            if field == "sharedWithMe" { return { [me] in $0.owner != me } }
            guard let operatorToken = next() else { throw Invalid() }
            let op: String
            switch operatorToken {
            case .op(let value): op = value
            case .word(let value) where value.lowercased() == "contains": op = "contains"
            default: throw Invalid()
            }
            guard let valueToken = next() else { throw Invalid() }
            let value: String
            switch valueToken {
            case .string(let text): value = text
            case .word(let text): value = text
            default: throw Invalid()
            }
            return try clause(field: field, op: op, value: value)
        default:
            throw Invalid()
        }
    }

    private func clause(field: String, op: String, value: String) throws(Invalid) -> Predicate {
        func compare<T: Comparable>(_ a: T, _ b: T) -> Bool {
            switch op {
            case "=": return a == b
            case "!=": return a != b
            case "<": return a < b
            case "<=": return a <= b
            case ">": return a > b
            case ">=": return a >= b
            default: return false
            }
        }
        switch field {
        case "name":
            if op == "contains" { return { $0.name.lowercased().contains(value.lowercased()) } }
            return { compare($0.name, value) }
        case "fullText":
            guard op == "contains" else { throw Invalid() }
            let needle = value.lowercased()
            return { $0.name.lowercased().contains(needle) || ($0.text?.lowercased().contains(needle) ?? false) }
        case "mimeType":
            if op == "contains" { return { $0.mimeType.contains(value) } }
            return { compare($0.mimeType, value) }
        case "modifiedTime", "createdTime", "viewedByMeTime":
            guard let bound = Timestamps.parseRFC3339(value) ?? Timestamps.parseRFC3339(value + "Z") ?? Timestamps.parseDate(value) else {
                throw Invalid()
            }
            return field == "createdTime" ? { compare($0.createdTime, bound) } : { compare($0.modifiedTime, bound) }
        case "trashed", "starred":
            guard value == "true" || value == "false", op == "=" || op == "!=" else { throw Invalid() }
            let wanted = value == "true"
            let equal = op == "="
            return field == "trashed" ? { ($0.trashed == wanted) == equal } : { ($0.starred == wanted) == equal }
        case "visibility":
            return { compare($0.sharedPublicly ? "anyoneWithLink" : "limited", value) }
        default:
            throw Invalid()
        }
    }
}
