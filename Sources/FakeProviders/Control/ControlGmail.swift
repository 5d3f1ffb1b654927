import Foundation

/// Control routes for Gmail: deliver, delete, relabel, expire history, inspect sent mail and drafts.
extension ControlService {
    func mailbox(_ user: String) -> Mailbox? { world.mailboxes[user.lowercased()] }

    static func decoded(_ message: MailMessage) -> JSON {
        var headers: [(String, JSON)] = []
        for (name, value) in message.root.headers where !headers.contains(where: { $0.0.lowercased() == name.lowercased() }) {
            headers.append((name, .string(value)))
        }
        return .object([
            ("id", .string(message.id)), ("threadId", .string(message.threadId)),
            ("labelIds", .array(message.labelIds.map { .string($0) })),
            ("internalDate", .string(String(message.internalDate))), ("headers", .object(headers)),
            (
                "body",
                .string(
                    message.root.firstLeaf { $0.mimeType == "text/plain" && $0.filename.isEmpty }.map {
                        String(decoding: $0.body, as: UTF8.self)
                    } ?? message.root.plainText ?? "")
            ),
            ("raw", .string(String(decoding: message.rawBytes, as: UTF8.self))),
        ])
    }

    func gmailAdd(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let box = mailbox(parameters[0]) else { return Self.error("unknown user \(parameters[0])", status: 404) }
        guard case .success(let body) = Self.body(request), let from = body["from"]?.stringValue else {
            return Self.error("needs from, to, subject, body")
        }
        let to = body["to"]?.stringArray ?? body["to"]?.stringValue.map { [$0] } ?? [box.owner.email]
        let cc = body["cc"]?.stringArray ?? []
        let now = world.clock.nowMillis
        var headers: [(name: String, value: String)] = []
        if from.lowercased() != box.owner.email { headers.append(("Delivered-To", box.owner.email)) }
        headers += [("MIME-Version", "1.0"), ("Date", Timestamps.rfc2822(now))]
        var random = SystemRandomNumberGenerator()
        let messageID =
            "<fake.\(UInt64.random(in: 0...UInt64.max, using: &random))@\(from.split(separator: "@").last.map { String($0).trimmingCharacters(in: [">"]) } ?? "example.test")>"
        headers.append(("Message-ID", messageID))
        headers.append(("Subject", body["subject"]?.stringValue ?? ""))
        headers.append(("From", address(from)))
        headers.append(("To", to.map(address).joined(separator: ", ")))
        if !cc.isEmpty { headers.append(("Cc", cc.map(address).joined(separator: ", "))) }
        var threadId = body["thread_id"]?.stringValue
        if let reply = body["in_reply_to"]?.stringValue {
            if let parent = box.message(reply) {
                let parentID = parent.root.header("Message-ID") ?? reply
                headers.append(("In-Reply-To", parentID))
                headers.append(("References", ((parent.root.header("References").map { $0 + " " } ?? "") + parentID)))
                threadId = threadId ?? parent.threadId
            } else {
                headers.append(("In-Reply-To", reply))
                headers.append(("References", reply))
            }
        }
        for (name, value) in body["headers"]?.objectValue ?? [] { if let text = value.stringValue { headers.append((name, text)) } }
        let root = MIMEComposer.message(
            headers: headers, text: body["body"]?.stringValue ?? "", boundary: "000000000000" + OpaqueToken.hex(14))
        let fromOwner = Self.bareAddress(from) == box.owner.email
        let labels = fromOwner ? ["SENT"] : ["UNREAD", "CATEGORY_PERSONAL", "INBOX"]
        let message = box.add(root: root, raw: nil, labels: body["labels"]?.stringArray ?? labels, threadId: threadId, internalDate: now)
        return .json(
            .object([
                ("id", .string(message.id)), ("threadId", .string(message.threadId)), ("historyId", .string(String(message.historyId))),
            ]))
    }

    static func bareAddress(_ text: String) -> String {
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            return String(text[text.index(after: open)..<close]).lowercased()
        }
        return text.trimmingSpaces.lowercased()
    }

    /// `Name <address>` for a known person given by bare address.
    func address(_ text: String) -> String {
        if !text.contains("<"), let person = world.directory.person(text) { return "\(person.name) <\(person.email)>" }
        return text
    }

    func gmailDelete(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let box = mailbox(parameters[0]) else { return Self.error("unknown user \(parameters[0])", status: 404) }
        guard box.delete(parameters[1], now: world.clock.nowMillis) else { return Self.error("no message \(parameters[1])", status: 404) }
        return .json(.object([("historyId", .string(String(box.historyId)))]))
    }

    func gmailLabels(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let box = mailbox(parameters[0]) else { return Self.error("unknown user \(parameters[0])", status: 404) }
        guard case .success(let body) = Self.body(request), let id = body["id"]?.stringValue else {
            return Self.error("needs id, add, remove")
        }
        guard
            let message = box.modify(
                id, add: body["add"]?.stringArray ?? [], remove: body["remove"]?.stringArray ?? [], now: world.clock.nowMillis)
        else { return Self.error("no message \(id)", status: 404) }
        return .json(
            .object([
                ("id", .string(message.id)), ("labelIds", .array(message.labelIds.map { .string($0) })),
                ("historyId", .string(String(message.historyId))),
            ]))
    }

    func gmailExpire(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let box = mailbox(parameters[0]) else { return Self.error("unknown user \(parameters[0])", status: 404) }
        box.expireHistory()
        return .json(.object([("historyId", .string(String(box.historyId)))]))
    }

    func gmailSent(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let box = mailbox(parameters[0]) else { return Self.error("unknown user \(parameters[0])", status: 404) }
        let sent = box.state.withLock { state in state.messages.values.filter { $0.labelIds.contains("SENT") && $0.raw != nil } }
            .sorted { $0.internalDate != $1.internalDate ? $0.internalDate < $1.internalDate : $0.historyId < $1.historyId }
        return .json(.object([("messages", .array(sent.map(Self.decoded)))]))
    }

    func gmailDrafts(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let box = mailbox(parameters[0]) else { return Self.error("unknown user \(parameters[0])", status: 404) }
        let drafts = box.drafts().reversed().map { draft in Self.decoded(draft.message).setting("draft_id", .string(draft.id)) }
        return .json(.object([("drafts", .array(Array(drafts)))]))
    }
}
