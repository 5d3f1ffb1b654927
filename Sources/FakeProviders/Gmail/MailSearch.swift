/// Gmail search syntax (`q`), the common operators: `from:`, `to:`, `cc:`, `subject:`,
/// `label:`, `in:`, `is:`, `has:attachment`, `filename:`, `category:`, `after:`/`before:`,
/// `newer_than:`/`older_than:`, `rfc822msgid:`, quoted phrases, `-` negation and `OR`.
struct MailSearch {
    typealias Predicate = (MailMessage) -> Bool

    let predicate: Predicate
    /// Whether the query itself looks into Spam or Trash (then they are not left out).
    let reachesSpamTrash: Bool

    init(_ query: String, now: Int64, labelNamed: (String) -> String?) {
        var reaches = false
        var clauses: [Predicate] = []
        var pendingOr = false
        for token in Self.tokens(query) {
            if token == "OR" || token == "|" {
                pendingOr = true
                continue
            }
            var text = token
            var negated = false
            if text.hasPrefix("-"), text.count > 1 {
                negated = true
                text.removeFirst()
            }
            let (predicate, spamTrash) = Self.term(text, now: now, labelNamed: labelNamed)
            reaches = reaches || spamTrash
            let final: Predicate = negated ? { !predicate($0) } : predicate
            if pendingOr, let previous = clauses.popLast() {
                clauses.append { previous($0) || final($0) }
            } else {
                clauses.append(final)
            }
            pendingOr = false
        }
        predicate = { message in clauses.allSatisfy { $0(message) } }
        reachesSpamTrash = reaches
    }

    /// Words and quoted phrases (`subject:"a b"` stays one token).
    static func tokens(_ query: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        for character in query {
            if character == "\"" {
                quoted.toggle()
                continue
            }
            if (character == " " || character == "\t") && !quoted {
                if !current.isEmpty { tokens.append(current) }
                current = ""
            } else if (character == "(" || character == ")" || character == "{" || character == "}") && !quoted {
                continue
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    private static func term(_ token: String, now: Int64, labelNamed: (String) -> String?) -> (Predicate, Bool) {
        guard let colon = token.firstIndex(of: ":"), colon != token.startIndex else {
            let word = token.asciiLowercased
            return (
                { m in
                    m.search.subject.contains(word) || m.search.body.contains(word) || m.search.from.contains(word)
                        || m.search.to.contains(word) || m.search.cc.contains(word)
                }, false
            )
        }
        let name = token[..<colon].lowercased()
        let value = String(token[token.index(after: colon)...]).asciiLowercased
        switch name {
        case "from": return ({ $0.search.from.contains(value) }, false)
        case "to": return ({ $0.search.to.contains(value) || $0.search.cc.contains(value) }, false)
        case "cc": return ({ $0.search.cc.contains(value) }, false)
        case "deliveredto": return ({ $0.search.to.contains(value) }, false)
        case "subject": return ({ $0.search.subject.contains(value) }, false)
        case "filename": return ({ m in m.search.filenames.contains { $0.contains(value) } }, false)
        case "rfc822msgid": return ({ ($0.root.header("Message-ID") ?? "").lowercased().contains(value) }, false)
        case "list": return ({ ($0.root.header("List-Id") ?? "").lowercased().contains(value) }, false)
        case "has":
            switch value {
            case "attachment": return ({ $0.root.hasAttachment }, false)
            case "userlabels": return ({ m in m.labelIds.contains { $0.hasPrefix("Label_") } }, false)
            default: return ({ _ in false }, false)
            }
        case "is":
            switch value {
            case "unread": return ({ $0.has("UNREAD") }, false)
            case "read": return ({ !$0.has("UNREAD") }, false)
            case "starred": return ({ $0.has("STARRED") }, false)
            case "important": return ({ $0.has("IMPORTANT") }, false)
            default: return ({ _ in false }, false)
            }
        case "in":
            switch value {
            case "anywhere": return ({ _ in true }, true)
            case "inbox": return ({ $0.has("INBOX") }, false)
            case "sent": return ({ $0.has("SENT") }, false)
            case "drafts", "draft": return ({ $0.has("DRAFT") }, false)
            case "trash": return ({ $0.has("TRASH") }, true)
            case "spam": return ({ $0.has("SPAM") }, true)
            case "starred": return ({ $0.has("STARRED") }, false)
            default: return ({ _ in false }, false)
            }
        case "category":
            let label =
                [
                    "primary": "CATEGORY_PERSONAL", "personal": "CATEGORY_PERSONAL", "social": "CATEGORY_SOCIAL",
                    "promotions": "CATEGORY_PROMOTIONS", "updates": "CATEGORY_UPDATES", "forums": "CATEGORY_FORUMS",
                ][value] ?? "-"
            return ({ $0.has(label) }, false)
        case "label":
            let id = labelNamed(value) ?? value.uppercased()
            return ({ $0.has(id) }, id == "TRASH" || id == "SPAM")
        case "after", "before":
            guard let bound = parseDate(value) else { return ({ _ in false }, false) }
            return (name == "after" ? { $0.internalDate >= bound } : { $0.internalDate < bound }, false)
        case "newer_than", "older_than":
            guard let span = parseSpan(value) else { return ({ _ in false }, false) }
            let bound = now - span
            return (name == "newer_than" ? { $0.internalDate >= bound } : { $0.internalDate < bound }, false)
        default:
            let word = token.asciiLowercased
            return ({ $0.search.subject.contains(word) || $0.search.body.contains(word) }, false)
        }
    }

    /// `2024/01/31`, `2024-01-31` or epoch seconds.
    private static func parseDate(_ value: String) -> Int64? {
        if value.allSatisfy(\.isNumber), let seconds = Int64(value) { return seconds * 1000 }
        let parts = value.split(whereSeparator: { $0 == "/" || $0 == "-" })
        guard parts.count == 3, let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]) else { return nil }
        return Timestamps.days(year: y, month: m, day: d) * 86_400_000
    }

    /// `3d`, `2m`, `1y` in milliseconds.
    private static func parseSpan(_ value: String) -> Int64? {
        guard let unit = value.last, let count = Int64(value.dropLast()) else { return nil }
        switch unit {
        case "d": return count * 86_400_000
        case "m": return count * 30 * 86_400_000
        case "y": return count * 365 * 86_400_000
        case "h": return count * 3_600_000
        default: return nil
        }
    }
}
