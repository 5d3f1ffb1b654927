/// A MIME entity as the mailbox keeps it: header values decoded to text, bodies decoded to
/// their content bytes. `MIMEWriter` turns it into RFC 2822 text, `GmailRepresentation` into the
/// API's `MessagePart`.
struct MIMEPart: Sendable {
    var headers: [(name: String, value: String)]
    /// `type/subtype`, lowercased.
    var mimeType: String
    /// Non-empty for attachments.
    var filename: String = ""
    /// Content bytes of a leaf.
    var body: [UInt8] = []
    /// Children of a `multipart/*` part.
    var parts: [MIMEPart] = []
    /// Gmail's handle for an attachment's body.
    var attachmentId: String?

    var isMultipart: Bool { mimeType.hasPrefix("multipart/") }

    /// The first value of header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// The first `text/plain` leaf, depth first (else the first `text/html`), as text.
    var plainText: String? {
        if let part = firstLeaf(where: { $0.mimeType == "text/plain" && $0.filename.isEmpty }) {
            return String(decoding: part.body, as: UTF8.self)
        }
        return firstLeaf(where: { $0.mimeType == "text/html" }).map { String(decoding: $0.body, as: UTF8.self) }
    }

    func firstLeaf(where predicate: (MIMEPart) -> Bool) -> MIMEPart? {
        if !isMultipart { return predicate(self) ? self : nil }
        for part in parts { if let found = part.firstLeaf(where: predicate) { return found } }
        return nil
    }

    /// The leaf with attachment id `id`.
    func attachment(_ id: String) -> MIMEPart? { firstLeaf { $0.attachmentId == id } }

    /// Whether any leaf is an attachment.
    var hasAttachment: Bool { firstLeaf { !$0.filename.isEmpty } != nil }

    /// Attachment file names.
    var filenames: [String] {
        if !isMultipart { return filename.isEmpty ? [] : [filename] }
        return parts.flatMap(\.filenames)
    }

    /// A rough size of the RFC 2822 form, without writing it.
    var estimatedSize: Int {
        var size = headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 } + 2
        if isMultipart {
            size += parts.reduce(0) { $0 + $1.estimatedSize + 40 } + 40
        } else {
            let encoded = header("Content-Transfer-Encoding")?.lowercased() == "base64"
            size += encoded ? (body.count + 2) / 3 * 4 + body.count / 57 * 2 : body.count
        }
        return size
    }
}

/// Gmail's short plain-text excerpt of a message.
enum Snippet {
    /// The first 200 characters with runs of white space collapsed, HTML entities escaped.
    static func make(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(240)
        var lastWasSpace = true
        var count = 0
        for byte in text.utf8 {
            if byte & 0xC0 != 0x80 {
                if count >= 200 { break }
                count += 1
            }
            switch byte {
            case 32, 9, 10, 13:
                if !lastWasSpace { out.append(32) }
                lastWasSpace = true
                continue
            case 38: out += Array("&amp;".utf8)
            case 60: out += Array("&lt;".utf8)
            case 62: out += Array("&gt;".utf8)
            case 34: out += Array("&quot;".utf8)
            case 39: out += Array("&#39;".utf8)
            default: out.append(byte)
            }
            lastWasSpace = false
        }
        while out.last == 32 { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// ASCII letters lowercased, everything else kept (fast; searches compare both sides this way).
    var asciiLowercased: String {
        guard utf8.contains(where: { $0 >= 65 && $0 <= 90 }) else { return self }
        return String(decoding: utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
