/// Gmail writes: `messages.send` (JSON `raw` or media upload), `drafts.create/send/delete`,
/// label changes, trash and permanent delete. Each one records history the way Gmail does.
extension GmailService {
    /// A decoded outgoing message, or the 400 refusing it.
    func outgoing(_ call: Call, messageField: Bool) -> Result<(root: MIMEPart, raw: [UInt8], threadId: String?), GateRefusal> {
        var rawBytes: [UInt8]
        var threadId: String?
        if call.request.segments.first == "upload" {
            guard call.query["uploadType"] == "media" || call.query["uploadType"] == nil else {
                return .failure(GateRefusal(GoogleErrors.badRequest("Only uploadType=media is supported by this fake", style: .modern)))
            }
            rawBytes = call.request.body
        } else {
            guard let body = call.request.json else {
                return .failure(GateRefusal(GoogleErrors.badRequest("Invalid JSON payload received.", reason: "invalid", style: .modern)))
            }
            let message = messageField ? body["message"] : body
            threadId = message?["threadId"]?.stringValue
            guard let raw = message?["raw"]?.stringValue, !raw.isEmpty else {
                return .failure(
                    GateRefusal(
                        GoogleErrors.badRequest(
                            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
                            reason: "invalidArgument", style: .modern)))
            }
            guard let decoded = Base64.decode(raw) else {
                return .failure(
                    GateRefusal(
                        GoogleErrors.badRequest("Invalid value for ByteString: \(raw.prefix(20))", reason: "invalid", style: .modern)))
            }
            rawBytes = decoded
        }
        var root = MIMEParser.parse(rawBytes)
        var added: [(name: String, value: String)] = []
        if root.header("From") == nil { added.append(("From", call.mailbox.owner.email)) }
        if root.header("Date") == nil { added.append(("Date", Timestamps.rfc2822(clock.nowMillis))) }
        if root.header("Message-ID") == nil {
            added.append(("Message-ID", "<CA+fake\(OpaqueToken.make(24, alphabet: OpaqueToken.alphanumerics))@mail.gmail.com>"))
        }
        if !added.isEmpty {
            root.headers = added + root.headers
            rawBytes = Array(added.map { "\($0.name): \(MailEncoding.encodeHeaderValue($0.value))\r\n" }.joined().utf8) + rawBytes
        }
        var attachmentNumber = 0
        root = Self.assignAttachmentIds(root, messageSeed: rawBytes.count, number: &attachmentNumber)
        return .success((root, rawBytes, threadId))
    }

    static func assignAttachmentIds(_ part: MIMEPart, messageSeed: Int, number: inout Int) -> MIMEPart {
        var part = part
        if part.isMultipart {
            part.parts = part.parts.map { assignAttachmentIds($0, messageSeed: messageSeed, number: &number) }
        } else if !part.filename.isEmpty {
            number += 1
            part.attachmentId = "ANGjdJ" + OpaqueToken.make(90)
        }
        return part
    }

    /// Addresses in To, Cc and Bcc.
    static func recipients(_ root: MIMEPart) -> [String] {
        ["To", "Cc", "Bcc"].flatMap { name -> [String] in
            (root.header(name) ?? "").split(separator: ",").compactMap { entry in
                let text = String(entry)
                if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
                    return String(text[text.index(after: open)..<close]).lowercased()
                }
                let trimmed = text.trimmingSpaces.lowercased()
                return trimmed.contains("@") ? trimmed : nil
            }
        }
    }

    /// Delivers a sent message to the recipients who are fleet users (their inbox, unread).
    func deliverLocally(_ root: MIMEPart, raw: [UInt8], from sender: String) {
        for recipient in Set(Self.recipients(root)) where recipient != sender {
            guard let box = mailboxes[recipient] else { continue }
            box.add(root: root, raw: raw, labels: ["UNREAD", "CATEGORY_PERSONAL", "INBOX"], threadId: nil, internalDate: clock.nowMillis)
        }
    }

    func sendMessage(_ call: Call) -> ProviderResponse {
        let decoded: (root: MIMEPart, raw: [UInt8], threadId: String?)
        switch outgoing(call, messageField: false) {
        case .failure(let refusal): return refusal.response
        case .success(let value): decoded = value
        }
        let recipients = Self.recipients(decoded.root)
        guard !recipients.isEmpty else {
            return GoogleErrors.badRequest("Recipient address required", reason: "invalidArgument", style: .modern)
        }
        if let threadId = decoded.threadId, call.mailbox.thread(threadId) == nil { return GoogleErrors.notFound(style: .modern) }
        var labels = ["SENT"]
        if recipients.contains(call.mailbox.owner.email) { labels = ["UNREAD", "SENT", "INBOX"] }
        let message = call.mailbox.add(
            root: decoded.root, raw: decoded.raw, labels: labels, threadId: decoded.threadId ?? "", internalDate: clock.nowMillis)
        deliverLocally(decoded.root, raw: decoded.raw, from: call.mailbox.owner.email)
        return .json(message.referenceWithLabels)
    }

    func createDraft(_ call: Call) -> ProviderResponse {
        let decoded: (root: MIMEPart, raw: [UInt8], threadId: String?)
        switch outgoing(call, messageField: call.request.segments.first != "upload") {
        case .failure(let refusal): return refusal.response
        case .success(let value): decoded = value
        }
        if let threadId = decoded.threadId, call.mailbox.thread(threadId) == nil { return GoogleErrors.notFound(style: .modern) }
        let message = call.mailbox.add(
            root: decoded.root, raw: decoded.raw, labels: ["DRAFT"], threadId: decoded.threadId ?? "", internalDate: clock.nowMillis)
        let draftId = call.mailbox.registerDraft(messageId: message.id)
        return .json(.object([("id", .string(draftId)), ("message", message.referenceWithLabels)]))
    }

    func listDrafts(_ call: Call) -> ProviderResponse {
        let drafts = call.mailbox.drafts()
        var object = JSONObjectBuilder()
        if !drafts.isEmpty {
            object.set("drafts", .array(drafts.map { .object([("id", .string($0.id)), ("message", $0.message.reference)]) }))
        }
        object.set("resultSizeEstimate", drafts.count)
        return .json(object.json)
    }

    func getDraft(_ call: Call) -> ProviderResponse {
        guard let message = call.mailbox.draft(call.parameters[0]) else { return GoogleErrors.notFound(style: .modern) }
        let format = GmailFormat(rawValue: (call.query["format"] ?? "full").lowercased()) ?? .full
        return .json(.object([("id", .string(call.parameters[0])), ("message", GmailRepresentation.message(message, format: format))]))
    }

    func deleteDraft(_ call: Call) -> ProviderResponse {
        guard let messageId = call.mailbox.unregisterDraft(call.parameters[0]) else { return GoogleErrors.notFound(style: .modern) }
        call.mailbox.delete(messageId, now: clock.nowMillis)
        return .empty(204)
    }

    func sendDraft(_ call: Call) -> ProviderResponse {
        guard let draftId = call.request.json?["id"]?.stringValue else {
            return GoogleErrors.badRequest("Invalid draft id", reason: "invalidArgument", style: .modern)
        }
        guard let draft = call.mailbox.draft(draftId) else { return GoogleErrors.notFound(style: .modern) }
        guard !Self.recipients(draft.root).isEmpty else {
            return GoogleErrors.badRequest("Recipient address required", reason: "invalidArgument", style: .modern)
        }
        _ = call.mailbox.unregisterDraft(draftId)
        guard let sent = call.mailbox.modify(draft.id, add: ["SENT"], remove: ["DRAFT"], now: clock.nowMillis) else {
            return GoogleErrors.notFound(style: .modern)
        }
        deliverLocally(draft.root, raw: draft.rawBytes, from: call.mailbox.owner.email)
        return .json(sent.referenceWithLabels)
    }

    func modifyMessage(_ call: Call) -> ProviderResponse {
        let body = call.request.json
        let add = body?["addLabelIds"]?.stringArray ?? []
        let remove = body?["removeLabelIds"]?.stringArray ?? []
        for label in add + remove where !call.mailbox.labelExists(label) {
            return GoogleErrors.badRequest("Invalid label: \(label)", reason: "invalidArgument", style: .modern)
        }
        guard let message = call.mailbox.modify(call.parameters[0], add: add, remove: remove, now: clock.nowMillis) else {
            return GoogleErrors.notFound(style: .modern)
        }
        return .json(message.referenceWithLabels)
    }

    func batchModify(_ call: Call) -> ProviderResponse {
        let body = call.request.json
        let ids = body?["ids"]?.stringArray ?? []
        let add = body?["addLabelIds"]?.stringArray ?? []
        let remove = body?["removeLabelIds"]?.stringArray ?? []
        for id in ids { _ = call.mailbox.modify(id, add: add, remove: remove, now: clock.nowMillis) }
        return .empty(204)
    }

    func trash(_ call: Call, into: Bool) -> ProviderResponse {
        let id = call.parameters[0]
        let changed =
            into
            ? call.mailbox.modify(id, add: ["TRASH"], remove: ["INBOX", "UNREAD", "SPAM"], now: clock.nowMillis)
            : call.mailbox.modify(id, add: [], remove: ["TRASH"], now: clock.nowMillis)
        guard let message = changed else { return GoogleErrors.notFound(style: .modern) }
        return .json(message.referenceWithLabels)
    }

    func deleteMessage(_ call: Call) -> ProviderResponse {
        guard call.mailbox.delete(call.parameters[0], now: clock.nowMillis) else { return GoogleErrors.notFound(style: .modern) }
        return .empty(204)
    }
}
