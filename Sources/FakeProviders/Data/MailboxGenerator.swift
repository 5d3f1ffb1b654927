import Foundation
import Synchronization

/// Makes a user's mailbox from the seed: conversations with replies (`In-Reply-To`,
/// `References`), requests with deadlines, updates where the user is in Cc, newsletters
/// (`List-Unsubscribe`, `Precedence: bulk`), automated notifications (`Auto-Submitted`, no-reply
/// senders), attachments, a few messages with secret-looking content, in five languages.
struct MailboxGenerator {
    let owner: Person
    let directory: Directory
    let now: Int64
    var random: SeededGenerator
    private(set) var messages: [MailMessage] = []
    /// Who writes to the owner: colleagues, customers, a few other users.
    private let pool: [Person]

    static let userLabels = [
        MailLabel(id: "Label_1", name: "Projects", isSystem: false), MailLabel(id: "Label_2", name: "Receipts", isSystem: false),
        MailLabel(id: "Label_3", name: "Newsletters", isSystem: false),
    ]

    init(owner: Person, directory: Directory, now: Int64, seed: UInt64, chunk: Int) {
        self.owner = owner
        self.directory = directory
        self.now = now
        random = SeededGenerator(seed: seed, purpose: "gmail:\(owner.email)#\(chunk)")
        pool = directory.colleagues + directory.externals + directory.users.lazy.filter { $0.email != owner.email }.prefix(3)
    }

    /// A mailbox of about `count` messages spread over a period that grows with the count. Big
    /// mailboxes are made in chunks of their own seeds on every core.
    static func mailbox(for owner: Person, directory: Directory, count: Int, now: Int64, seed: UInt64) -> Mailbox {
        let chunkSize = 4000
        let chunks = max(1, (count + chunkSize - 1) / chunkSize)
        let parts = Mutex<[[MailMessage]]>(Array(repeating: [], count: chunks))
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var generator = MailboxGenerator(owner: owner, directory: directory, now: now, seed: seed, chunk: chunk)
            generator.generate(count: min(chunkSize, count - chunk * chunkSize), spanFor: count)
            let made = generator.messages
            parts.withLock { $0[chunk] = made }
        }
        var messages = parts.withLock { $0 }.flatMap { $0 }
        // History ids grow with the dates, as in a mailbox that grew over time.
        messages.sort { $0.internalDate != $1.internalDate ? $0.internalDate < $1.internalDate : $0.id < $1.id }
        var random = SeededGenerator(seed: seed, purpose: "gmail-history:" + owner.email)
        var historyId = 1_000_000 + UInt64.random(in: 0...9_000_000, using: &random)
        for position in messages.indices {
            historyId += UInt64.random(in: 1...40, using: &random)
            messages[position].historyId = historyId
        }
        let mailbox = Mailbox(owner: owner, startHistoryId: historyId, seed: seed)
        mailbox.load(messages, labels: userLabels)
        return mailbox
    }

    mutating func generate(count: Int, spanFor total: Int) {
        messages.reserveCapacity(count + 4)
        let spanDays = Int64(min(1100, max(30, total / 40)))
        while messages.count < count {
            let base = now - Int64.random(in: 300_000...(spanDays * 86_400_000), using: &random)
            let roll = Int.random(in: 0..<100, using: &random)
            switch roll {
            case 0..<22: conversation(start: base, length: min(count - messages.count, Int.random(in: 2...4, using: &random)))
            case 22..<44: direct(at: base, request: roll < 36)
            case 44..<62: newsletter(at: base)
            case 62..<84: notification(at: base)
            case 84..<92: withAttachment(at: base)
            case 92..<96: sensitive(at: base)
            default: junk(at: base)
            }
        }
    }

    // MARK: Kinds of mail

    private mutating func counterpart() -> Person {
        random.pick(pool)
    }

    private mutating func values(sender: Person, recipient: Person) -> [String: String] {
        [
            "first": recipient.firstName, "sender": sender.name, "project": random.pick(MailCorpus.projects),
            "ticket": "PROJ-\(Int.random(in: 1...400, using: &random))",
            "deadline": random.pick(MailCorpus.deadlines[sender.language] ?? MailCorpus.deadlines[.en]!),
            "amount": String(Int.random(in: 120...98_000, using: &random)),
        ]
    }

    private mutating func inboxLabels(at date: Int64, category: String, important: Bool) -> [String] {
        var labels: [String] = []
        let age = now - date
        if age < 3 * 86_400_000 && random.chance(0.6) || age < 86_400_000 { labels.append("UNREAD") }
        if important { labels.append("IMPORTANT") }
        labels.append(category)
        if age < 21 * 86_400_000 || random.chance(0.3) { labels.append("INBOX") }
        if random.chance(0.04) { labels.append("STARRED") }
        return labels
    }

    private mutating func conversation(start: Int64, length: Int) {
        let other = counterpart()
        let language = other.language
        let template = random.pick(MailCorpus.requests[language] ?? MailCorpus.requests[.en]!)
        let fill = values(sender: other, recipient: owner)
        let subject = Self.fill(template.subject, fill)
        var previousIDs: [String] = []
        var date = start
        var threadId = ""
        let ownerStarts = random.chance(0.3)
        for turn in 0..<max(1, length) {
            let fromOwner = (turn % 2 == 0) == ownerStarts
            let sender = fromOwner ? owner : other
            let recipient = fromOwner ? other : owner
            var body: String
            if turn == 0 {
                body = Self.fill(template.body, values(sender: sender, recipient: recipient))
            } else {
                let reply = random.pick(MailCorpus.replies[language] ?? MailCorpus.replies[.en]!)
                body = Self.fill(reply, values(sender: sender, recipient: recipient)) + "\n\n" + sender.firstName
            }
            let messageID = Self.messageID(sender: sender, random: &random)
            var headers: [(String, String)] = []
            if let last = previousIDs.last {
                headers.append(("In-Reply-To", last))
                headers.append(("References", previousIDs.joined(separator: " ")))
            }
            let fullSubject = turn == 0 ? subject : (MailCorpus.replyPrefix[language] ?? "Re: ") + subject
            let labels =
                fromOwner
                ? ["SENT"] : inboxLabels(at: date, category: "CATEGORY_PERSONAL", important: true) + (random.chance(0.2) ? ["Label_1"] : [])
            let root = compose(
                from: sender, to: [recipient], cc: [], subject: fullSubject, text: body, date: date, messageID: messageID, extra: headers,
                html: !fromOwner || random.chance(0.5))
            let id = add(root: root, labels: labels, date: date, threadId: threadId.isEmpty ? nil : threadId)
            if threadId.isEmpty { threadId = id }
            previousIDs.append(messageID)
            date = min(now - 60_000, date + Int64.random(in: 1_200_000...(2 * 86_400_000), using: &random))
        }
    }

    private mutating func direct(at date: Int64, request: Bool) {
        let sender = counterpart()
        let pool = request ? MailCorpus.requests : MailCorpus.updates
        let template = random.pick(pool[sender.language] ?? pool[.en]!)
        let fill = values(sender: sender, recipient: owner)
        let others = Array(directory.colleagues.shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random)))
        let ownerInCc = !request && random.chance(0.6)
        let to = ownerInCc ? others : [owner]
        let cc = ownerInCc ? [owner] : (random.chance(0.3) ? Array(others.prefix(1)) : [])
        let root = compose(
            from: sender, to: to, cc: cc, subject: Self.fill(template.subject, fill), text: Self.fill(template.body, fill), date: date,
            messageID: Self.messageID(sender: sender, random: &random), extra: [], html: true)
        add(root: root, labels: inboxLabels(at: date, category: "CATEGORY_PERSONAL", important: request), date: date)
    }

    private mutating func newsletter(at date: Int64) {
        let letter = random.pick(MailCorpus.newsletters)
        let sender = Self.sender(name: letter.name, email: letter.address)
        let domain = String(letter.address.split(separator: "@").last ?? "")
        let extra: [(String, String)] = [
            (
                "List-Unsubscribe",
                "<mailto:unsubscribe@\(domain)?subject=unsubscribe>, <https://\(domain)/unsubscribe?u=\(random.string(12, alphabet: "abcdef0123456789"))>"
            ),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"), ("List-Id", "<news.\(domain)>"), ("Precedence", "bulk"),
        ]
        let root = compose(
            from: sender, to: [owner], cc: [], subject: letter.subject, text: letter.body, date: date,
            messageID: "<\(random.string(24, alphabet: OpaqueToken.alphanumerics))@\(domain)>", extra: extra, html: true)
        let category = letter.address.hasPrefix("offers") ? "CATEGORY_PROMOTIONS" : "CATEGORY_UPDATES"
        add(root: root, labels: inboxLabels(at: date, category: category, important: false) + ["Label_3"], date: date)
    }

    private mutating func notification(at date: Int64) {
        let note = random.pick(MailCorpus.notifications)
        let actor = counterpart()
        let fill = values(sender: actor, recipient: owner)
        let domain = String(note.address.split(separator: "@").last ?? "")
        let extra: [(String, String)] = [("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All")]
        let root = compose(
            from: Self.sender(name: note.name, email: note.address), to: [owner], cc: [], subject: Self.fill(note.subject, fill),
            text: Self.fill(note.body, fill), date: date,
            messageID: "<\(random.string(20, alphabet: OpaqueToken.alphanumerics))@\(domain)>",
            extra: extra, html: random.chance(0.5))
        let receipt = note.address.hasPrefix("no-reply@billing")
        add(
            root: root, labels: inboxLabels(at: date, category: "CATEGORY_UPDATES", important: false) + (receipt ? ["Label_2"] : []),
            date: date)
    }

    private mutating func withAttachment(at date: Int64) {
        let sender = counterpart()
        let file = random.pick(MailCorpus.attachments)
        let fill = values(sender: sender, recipient: owner)
        let deadline = random.pick(MailCorpus.deadlines[.en]!)
        let text =
            "Hi \(owner.firstName),\n\nplease find \(file.name) attached. Let me know if anything is missing \(deadline).\n\n\(sender.name)"
        let content = AttachmentContent.bytes(name: file.name, type: file.type, random: &random)
        let root = compose(
            from: sender, to: [owner], cc: [], subject: "\(file.name) for \(fill["project"]!)", text: text, date: date,
            messageID: Self.messageID(sender: sender, random: &random), extra: [], html: true,
            attachments: [(file.name, file.type, content)])
        add(root: root, labels: inboxLabels(at: date, category: "CATEGORY_PERSONAL", important: true), date: date)
    }

    private mutating func sensitive(at date: Int64) {
        let sender = random.pick(directory.colleagues)
        let template = random.pick(MailCorpus.sensitive)
        let fill = values(sender: sender, recipient: owner)
        let root = compose(
            from: sender, to: [owner], cc: [], subject: template.subject, text: Self.fill(template.body, fill), date: date,
            messageID: Self.messageID(sender: sender, random: &random), extra: [], html: false)
        add(root: root, labels: inboxLabels(at: date, category: "CATEGORY_PERSONAL", important: true), date: date)
    }

    private mutating func junk(at date: Int64) {
        let spam = random.chance(0.5)
        let sender = Self.sender(name: "Prize Center", email: "winner@lucky-prize.example")
        let root = compose(
            from: sender, to: [owner], cc: [], subject: "You have won a €1,000 gift card!!!",
            text: "Congratulations! Claim your prize now: http://lucky-prize.example/claim", date: date,
            messageID: "<\(random.string(16, alphabet: OpaqueToken.alphanumerics))@lucky-prize.example>", extra: [], html: true)
        add(root: root, labels: spam ? ["SPAM", "CATEGORY_PROMOTIONS"] : ["TRASH", "CATEGORY_PROMOTIONS"], date: date)
    }

    // MARK: Building messages

    @discardableResult
    private mutating func add(root: MIMEPart, labels: [String], date: Int64, threadId: String? = nil) -> String {
        let id = MessageIDs.make(date: date, random: &random)
        var attachmentIndex = 0
        let root = GmailService.assignAttachmentIds(root, messageSeed: 0, number: &attachmentIndex)
        messages.append(
            MailMessage(id: id, threadId: threadId ?? id, labelIds: labels, historyId: 0, internalDate: date, root: root, raw: nil))
        return id
    }

    static func sender(name: String, email: String) -> Person {
        Person(
            email: email, name: name, language: .en, timeZone: "UTC", accountId: "", githubLogin: "", githubId: 0, permissionId: "",
            isUser: false)
    }

    static func messageID(sender: Person, random: inout SeededGenerator) -> String {
        sender.isUser || sender.domain.hasSuffix(".test")
            ? "<CA+\(random.string(40, alphabet: OpaqueToken.alphanumerics))@mail.gmail.com>"
            : "<\(random.string(26, alphabet: OpaqueToken.alphanumerics))@\(sender.domain)>"
    }

    static func address(_ person: Person) -> String {
        let needsQuotes = person.name.contains(",") || person.name.contains(".")
        return needsQuotes ? "\"\(person.name)\" <\(person.email)>" : "\(person.name) <\(person.email)>"
    }

    /// `template` with `{key}` replaced, in one pass over the bytes.
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(template.utf8.count + 64)
        var key: [UInt8] = []
        var inKey = false
        for byte in template.utf8 {
            if byte == 123 {
                inKey = true
                key.removeAll(keepingCapacity: true)
            } else if byte == 125 && inKey {
                let name = String(decoding: key, as: UTF8.self)
                if let value = values[name] { out += Array(value.utf8) } else { out += Array("{\(name)}".utf8) }
                inKey = false
            } else if inKey {
                key.append(byte)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func compose(
        from: Person, to: [Person], cc: [Person], subject: String, text: String, date: Int64, messageID: String,
        extra: [(String, String)], html: Bool, attachments: [(String, String, [UInt8])] = []
    ) -> MIMEPart {
        var headers: [(name: String, value: String)] = []
        if from.email != owner.email { headers.append(("Delivered-To", owner.email)) }
        headers.append(("MIME-Version", "1.0"))
        headers.append(("Date", Timestamps.rfc2822(date)))
        headers.append(("Message-ID", messageID))
        headers.append(("Subject", subject))
        headers.append(("From", Self.address(from)))
        headers.append(("To", to.map(Self.address).joined(separator: ", ")))
        if !cc.isEmpty { headers.append(("Cc", cc.map(Self.address).joined(separator: ", "))) }
        headers += extra.map { (name: $0.0, value: $0.1) }
        let boundary = "000000000000" + random.string(14, alphabet: "0123456789abcdef")
        let textPart = MIMEComposer.textPart(text, subtype: "plain")
        var body: MIMEPart = textPart
        if html {
            let alternative = MIMEComposer.multipart(
                "alternative", boundary: boundary, parts: [textPart, MIMEComposer.textPart(MIMEComposer.html(from: text), subtype: "html")])
            body = alternative
        }
        if !attachments.isEmpty {
            let mixedBoundary = "000000000000" + random.string(14, alphabet: "0123456789abcdef")
            body = MIMEComposer.multipart(
                "mixed", boundary: mixedBoundary,
                parts: [body]
                    + attachments.map {
                        MIMEComposer.attachment(name: $0.0, type: $0.1, bytes: $0.2, id: random.string(10, alphabet: "abcdef0123456789"))
                    })
        }
        body.headers = headers + body.headers
        return body
    }
}
