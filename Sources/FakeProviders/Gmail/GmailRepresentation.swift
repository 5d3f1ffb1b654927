/// `Message` and `MessagePart` JSON of the Gmail API, per `format`.
enum GmailRepresentation {
    /// The message in `format`; `metadataHeaders` limits the headers of `metadata`.
    static func message(_ message: MailMessage, format: GmailFormat, metadataHeaders: [String] = []) -> JSON {
        var object = JSONObjectBuilder()
        object.set("id", message.id)
        object.set("threadId", message.threadId)
        if !message.labelIds.isEmpty { object.set("labelIds", strings: message.labelIds) }
        object.set("snippet", message.snippet)
        switch format {
        case .full: object.set("payload", part(message.root, partId: "", withBodies: true))
        case .metadata:
            let wanted = Set(metadataHeaders.map { $0.lowercased() })
            let headers = message.root.headers.filter { wanted.isEmpty || wanted.contains($0.name.lowercased()) }
            object.set(
                "payload",
                .object([
                    ("partId", ""), ("mimeType", .string(message.root.mimeType)), ("filename", ""),
                    ("headers", .array(headers.map(header))),
                ]))
        case .minimal, .raw: break
        }
        object.set("sizeEstimate", message.sizeEstimate)
        if format == .raw { object.set("raw", Base64.urlEncode(message.rawBytes)) }
        object.set("historyId", String(message.historyId))
        object.set("internalDate", String(message.internalDate))
        return object.json
    }

    private static func header(_ pair: (name: String, value: String)) -> JSON {
        .object([("name", .string(pair.name)), ("value", .string(pair.value))])
    }

    static func part(_ part: MIMEPart, partId: String, withBodies: Bool) -> JSON {
        var object = JSONObjectBuilder()
        object.set("partId", partId)
        object.set("mimeType", part.mimeType)
        object.set("filename", part.filename)
        object.set("headers", .array(part.headers.map(header)))
        if part.isMultipart {
            object.set("body", .object([("size", 0)]))
            let children = part.parts.enumerated().map { index, child in
                Self.part(child, partId: partId.isEmpty ? String(index) : "\(partId).\(index)", withBodies: withBodies)
            }
            object.set("parts", .array(children))
        } else if let attachmentId = part.attachmentId {
            object.set("body", .object([("attachmentId", .string(attachmentId)), ("size", .int(Int64(part.body.count)))]))
        } else if part.body.isEmpty {
            object.set("body", .object([("size", 0)]))
        } else {
            object.set("body", .object([("size", .int(Int64(part.body.count))), ("data", .string(Base64.urlEncode(part.body)))]))
        }
        return object.json
    }

    /// `messages.attachments.get`.
    static func attachment(_ part: MIMEPart) -> JSON {
        .object([("size", .int(Int64(part.body.count))), ("data", .string(Base64.urlEncode(part.body)))])
    }
}
