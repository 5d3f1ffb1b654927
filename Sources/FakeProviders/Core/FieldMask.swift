/// A Google partial-response mask (`fields=nextPageToken,items(id,status),a/b`), applied to an
/// answer before it is written.
struct FieldMask: Sendable, Equatable {
    /// Selected fields; a `nil` mask selects the whole value of that field.
    var fields: [String: FieldMask?]

    /// Why a mask does not parse, or names a field the resource does not have.
    struct Invalid: Error {
        let field: String
    }

    /// Parses `text`; an empty mask selects nothing special (callers treat it as absent).
    static func parse(_ text: String) throws(Invalid) -> FieldMask {
        var scanner = Scanner(characters: Array(text))
        let mask = try scanner.list(closing: nil)
        guard scanner.atEnd else { throw Invalid(field: text) }
        return mask
    }

    /// `value` reduced to the selected fields (arrays are reduced element by element).
    func apply(to value: JSON) -> JSON {
        switch value {
        case .object(let pairs):
            var kept: [(String, JSON)] = []
            for (key, field) in pairs {
                guard let sub = fields[key] else { continue }
                kept.append((key, sub.map { $0.apply(to: field) } ?? field))
            }
            return .object(kept)
        case .array(let elements): return .array(elements.map { apply(to: $0) })
        default: return value
        }
    }

    /// Checks every selected name against `schema` (a nested map of the resource's field names;
    /// `nil` below a name accepts anything there).
    func validate(against schema: FieldSchema) throws(Invalid) {
        for (name, sub) in fields {
            guard let entry = schema.children[name] else { throw Invalid(field: name) }
            if let sub, let nested = entry { try sub.validate(against: nested) }
        }
    }

    private struct Scanner {
        let characters: [Character]
        var index = 0
        var atEnd: Bool { index >= characters.count }

        mutating func name() -> String {
            var out = ""
            while index < characters.count, !",()/".contains(characters[index]) {
                if characters[index] != " " { out.append(characters[index]) }
                index += 1
            }
            return out
        }

        mutating func list(closing: Character?) throws(Invalid) -> FieldMask {
            var mask = FieldMask(fields: [:])
            while true {
                let field = try path()
                for (key, value) in field.fields { mask.fields[key] = merge(mask.fields[key], value) }
                if atEnd {
                    if closing != nil { throw Invalid(field: "(") }
                    return mask
                }
                if characters[index] == "," {
                    index += 1
                    continue
                }
                if let closing, characters[index] == closing {
                    index += 1
                    return mask
                }
                throw Invalid(field: String(characters[index]))
            }
        }

        /// `a`, `a/b/c` or `a(b,c)`.
        mutating func path() throws(Invalid) -> FieldMask {
            let head = name()
            guard !head.isEmpty else { throw Invalid(field: "") }
            if !atEnd, characters[index] == "/" {
                index += 1
                return FieldMask(fields: [head: try path()])
            }
            if !atEnd, characters[index] == "(" {
                index += 1
                return FieldMask(fields: [head: try list(closing: ")")])
            }
            var leaf: [String: FieldMask?] = [:]
            leaf.updateValue(nil, forKey: head)
            return FieldMask(fields: leaf)
        }

        private func merge(_ existing: FieldMask??, _ new: FieldMask?) -> FieldMask? {
            guard let existing else { return new }
            guard let old = existing, let new else { return nil }
            var merged = old
            for (key, value) in new.fields { merged.fields[key] = merge(merged.fields[key], value) }
            return merged
        }
    }
}

/// The field names a resource has, for validating masks (`invalidParameter` on unknown names).
struct FieldSchema: Sendable {
    var children: [String: FieldSchema?]

    /// Leaf fields only.
    init(_ names: [String]) { children = Dictionary(uniqueKeysWithValues: names.map { ($0, nil) }) }

    init(_ names: [String], nested: [String: FieldSchema]) {
        children = Dictionary(uniqueKeysWithValues: names.map { ($0, nil) })
        for (key, value) in nested { children[key] = value }
    }
}
