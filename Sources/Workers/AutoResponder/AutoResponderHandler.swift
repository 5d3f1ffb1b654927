import Classifier
import Connectors
import Contracts
import Foundation
import PostgresClient
import Settings
import WorkerRuntime

/// The `auto-responder` kind. A job without a draft reads a synced message, checks it may be
/// answered at all, writes the reply from the template of its class and submits it as a job of
/// its own under `autorespond.send`, which the policy decides (sent, sent with the AI
/// disclosure, parked for approval with the draft, or refused). A job with a draft sends it as
/// a threaded reply, once.
///
/// Never answered: mail not classed `needs_response` or `critical`, mail the user is not in
/// `To` of, the user's own mail, mailing lists and bulk mail, no-reply senders, mail carrying
/// `Auto-Submitted` (RFC 3834: our replies carry `auto-replied`, so two assistants cannot
/// loop), mail older than `maxAge`, and a thread answered within `threadWindow`.
struct AutoResponderHandler: KindHandler {
    typealias Contract = AutoResponderKind

    let settings: ProviderSettings
    let secrets: SecretBox
    /// Mail older than this is not answered (a first sync brings in months of mail).
    let maxAge: Duration
    /// One reply per thread within this window.
    let threadWindow: Duration

    /// Writes the reply where the policy lets the message go to it; the templates otherwise.
    let model: ModelBackend?

    init(settings: ProviderSettings, secrets: SecretBox, maxAge: Duration = .seconds(2 * 86_400), threadWindow: Duration = .seconds(86_400))
    {
        self.settings = settings
        self.secrets = secrets
        model = ModelBackend(settings.model)
        self.maxAge = maxAge
        self.threadWindow = threadWindow
    }

    /// A synced message as the responder reads it.
    struct Message {
        let id: String
        let threadID: String
        let subject: String
        let from: String
        let replyTo: String?
        let to: [String]
        let headerMessageID: String?
        let references: String?
        let labels: [String]
        let automated: [String: String]
        let level: Classification
        let messageClass: MessageClass?
        let classified: Bool
        /// A detector found something in it (a secret, a card number, a marking...).
        let flagged: Bool
        let ageSeconds: Double

        /// Whether its words may travel with the reply (job payloads, approvals, the reply
        /// table): not when it is above internal or anything was found in it.
        var quotable: Bool { level <= .internal && !flagged }

        var sender: String { Addresses.bare(from) }
        var recipient: String { Addresses.bare(replyTo ?? from) }
    }

    func handle(_ payload: AutoResponderKind.Payload, context: HandlerContext) async throws {
        if let draft = payload.draft {
            try await send(draft, payload, context: context)
        } else {
            try await prepare(payload, context: context)
        }
    }

    // MARK: Drafting

    func prepare(_ payload: AutoResponderKind.Payload, context: HandlerContext) async throws {
        try await context.authorize(.gmailRead, step: "read")
        let user = context.job.requester.user
        guard let message = try await Self.message(payload.messageID, user: user, context: context) else {
            throw JobFailure(.fail, "\(user) has no synced gmail message \(payload.messageID.prefix(80)): sync gmail first")
        }
        guard message.classified else {
            throw JobFailure(.postpone(.seconds(5)), "message \(message.id) waits for the classifier")
        }
        var account = try await AccountSession.open(.gmail, settings: settings, secrets: secrets, context: context)
        let me = account.account.account.lowercased()
        if let why = refusal(message, me: me) { return skip(why, message, context) }
        let existing = try await context.statements.query(
            "SELECT job_id, status FROM responses WHERE user_id = $1 AND channel = 'gmail' AND message_id = $2", [user, message.id]
        ).first
        if let existing, existing.string("job_id") != context.job.id {
            return skip("already answered (\(existing.string("status") ?? ""))", message, context)
        }
        if existing == nil, try await threadAnswered(message, context: context) {
            return skip("its thread was answered in the last \(threadWindow.components.seconds / 3600) hours", message, context)
        }
        let contents = try await account.call { session throws(ConnectorFailure) in
            try await GmailContent(host: settings.google.gmailURL).read(
                [ItemReference(sourceID: message.id, type: "message", details: [:])], session: session)
        }
        guard let content = contents.first ?? nil else { return skip("the message is gone", message, context) }
        let name = account.account.details["name"]?.stringValue ?? Self.displayName(me)
        let draft = try await modelDraft(message, content, userName: name, context: context) ?? Self.draft(for: message, userName: name)
        // What an approver sees of the original: its words only where they may travel.
        let withheld = "(withheld: \(message.flagged ? "something sensitive was found in it" : message.level.rawValue))"
        let original = [
            "from": String(message.from.prefix(500)), "subject": message.quotable ? String(message.subject.prefix(500)) : withheld,
            "excerpt": message.quotable ? String(content.body.trimmingCharacters(in: .whitespacesAndNewlines).prefix(600)) : withheld,
        ]
        // One drafting job owns a message: another that got here at the same time stops.
        let owner = try await context.statements.query(
            """
            INSERT INTO responses (user_id, channel, message_id, thread_id, job_id, status, original, response, classification,
                message_class)
            VALUES ($1, 'gmail', $2, $3, $4, 'drafted', $5::jsonb, $6, $7, $8)
            ON CONFLICT (user_id, channel, message_id) DO UPDATE SET job_id = responses.job_id RETURNING job_id
            """,
            [
                user, message.id, message.threadID, context.job.id, JSONText.object(original), draft, message.level.rawValue,
                message.messageClass?.rawValue,
            ]
        ).first?.string("job_id")
        guard owner == context.job.id else { return skip("another job is answering it", message, context) }
        let outcome = try await context.followUp(
            AutoResponderKind.self, action: .autorespondSend,
            payload: .init(channel: "gmail", messageID: message.id, draft: draft, original: original), classification: message.level,
            step: "send")
        var result: [String: JSONValue] = ["message_id": .string(message.id)]
        switch outcome {
        case .queued(let jobID):
            try await setStatus("queued", message, context, ["send_job_id": jobID])
            result["status"] = .string("queued")
            result["send_job_id"] = .string(jobID)
        case .awaitingApproval(let approvalID):
            try await setStatus("pending", message, context, ["approval_id": approvalID, "send_job_id": approvalID])
            result["status"] = .string("pending")
            result["approval_id"] = .string(approvalID)
        case .denied(let reason):
            try await setStatus("blocked", message, context, ["reason": reason])
            result["status"] = .string("blocked")
            result["reason"] = .string(reason)
        }
        context.setResult(result)
    }

    /// The model's reply where the policy allows sending the message's data to it; nil (the
    /// template writes it) otherwise or when its answer does not do.
    func modelDraft(_ message: Message, _ content: ItemContent, userName: String, context: HandlerContext) async throws -> String? {
        guard let model, try await model.allowed(message.level, context: context, step: "model:draft") else { return nil }
        let instructions = """
            You write a short, polite email reply for \(userName)'s assistant. Acknowledge the message and say that \(userName) \
            will answer. Make no commitment, give no information and agree to nothing on \(userName)'s behalf. Plain text only: \
            a greeting, two sentences at most, and "Best regards". No subject line, no signature.
            """
        let prompt = "From: \(message.from.prefix(300))\nSubject: \(message.subject.prefix(300))\n\n\(content.body.prefix(4_000))"
        guard
            let text = try await model.ask(
                system: instructions, prompt: prompt, json: false, maxTokens: 300, level: message.level, purpose: "reply draft",
                context: context, step: "model:draft")
        else { return nil }
        let reply = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reply.isEmpty, reply.count <= 4_000 else { return nil }
        // A reply that repeats anything a detector flags (a secret from the message) is not used.
        let scanned = Classifier().level(of: ClassifiableItem(source: .gmail, title: "", body: reply))
        guard scanned.findings.isEmpty else {
            context.logger.warning("the model's reply quoted something sensitive; the template writes it")
            return nil
        }
        return reply
    }

    /// Why `message` is not answered at all, or nil.
    func refusal(_ message: Message, me: String) -> String? {
        guard let messageClass = message.messageClass, messageClass == .needsResponse || messageClass == .critical else {
            return "it is classed \(message.messageClass?.rawValue ?? "unclassified"), not needs_response or critical"
        }
        if message.sender == me || message.labels.contains("SENT") { return "it is the user's own mail" }
        if !message.to.contains(where: { Addresses.bare($0) == me }) { return "the user is not among its To recipients" }
        if let auto = message.automated["auto_submitted"], auto.lowercased() != "no" {
            return "it is automatic mail (Auto-Submitted: \(auto)); answering could loop"
        }
        if message.automated["list_id"] != nil || message.automated["list_unsubscribe"] != nil { return "it came through a mailing list" }
        if let precedence = message.automated["precedence"]?.lowercased(), ["bulk", "list", "junk"].contains(precedence) {
            return "it is bulk mail (Precedence: \(precedence))"
        }
        let local = message.recipient.split(separator: "@").first.map(String.init) ?? ""
        if ["noreply", "no-reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster"].contains(where: { local.contains($0) }) {
            return "its sender takes no replies (\(message.recipient))"
        }
        if message.ageSeconds > Double(maxAge.components.seconds) { return "it is older than the reply window" }
        return nil
    }

    func threadAnswered(_ message: Message, context: HandlerContext) async throws -> Bool {
        guard !message.threadID.isEmpty else { return false }
        return try await !context.statements.query(
            """
            SELECT 1 FROM responses WHERE user_id = $1 AND channel = 'gmail' AND thread_id = $2 AND message_id <> $3
                AND status IN ('drafted', 'queued', 'pending', 'sent') AND created_at > now() - make_interval(secs => $4)
            LIMIT 1
            """, [context.job.requester.user, message.threadID, message.id, Int(threadWindow.components.seconds)]
        ).isEmpty
    }

    func skip(_ why: String, _ message: Message, _ context: HandlerContext) {
        context.logger.info("message not answered", metadata: ["message": "\(message.id)", "why": "\(why)"])
        context.setResult(["message_id": .string(message.id), "status": .string("skipped"), "reason": .string(why)])
    }

    func setStatus(_ status: String, _ message: Message, _ context: HandlerContext, _ fields: [String: String] = [:]) async throws {
        try await context.statements.query(
            """
            UPDATE responses SET status = $3, approval_id = coalesce($4, approval_id), send_job_id = coalesce($5, send_job_id),
                reason = coalesce($6, reason), updated_at = now()
            WHERE user_id = $1 AND channel = 'gmail' AND message_id = $2 AND status IN ('drafted', 'queued', 'pending')
            """, [context.job.requester.user, message.id, status, fields["approval_id"], fields["send_job_id"], fields["reason"]])
    }

    // MARK: Sending

    func send(_ draft: String, _ payload: AutoResponderKind.Payload, context: HandlerContext) async throws {
        let user = context.job.requester.user
        guard let message = try await Self.message(payload.messageID, user: user, context: context) else {
            throw JobFailure(.fail, "\(user) has no synced gmail message \(payload.messageID.prefix(80))")
        }
        let stored = try await context.statements.query(
            "SELECT status, sent_message_id FROM responses WHERE user_id = $1 AND channel = 'gmail' AND message_id = $2",
            [user, message.id]
        ).first
        if stored?.string("status") == "sent" {
            context.setResult([
                "message_id": .string(message.id), "status": .string("sent"), "sent_id": .string(stored?.string("sent_message_id") ?? ""),
            ])
            return
        }
        if stored == nil {
            // Submitted directly (not drafted by this kind): recorded now.
            try await context.statements.query(
                """
                INSERT INTO responses (user_id, channel, message_id, thread_id, job_id, status, original, response, classification,
                    message_class)
                VALUES ($1, 'gmail', $2, $3, $4, 'queued', $5::jsonb, $6, $7, $8) ON CONFLICT DO NOTHING
                """,
                [
                    user, message.id, message.threadID, context.job.id, JSONText.object(payload.original ?? [:]), draft,
                    message.level.rawValue, message.messageClass?.rawValue,
                ])
        }
        // One sending job owns a reply: a second job for the same message sends nothing.
        let claimed = try await context.statements.query(
            """
            UPDATE responses SET send_job_id = $3, updated_at = now()
            WHERE user_id = $1 AND channel = 'gmail' AND message_id = $2 AND status <> 'sent' AND (send_job_id IS NULL OR send_job_id = $3)
            RETURNING 1 AS claimed
            """, [user, message.id, context.job.id])
        guard !claimed.isEmpty else {
            context.setResult(["message_id": .string(message.id), "status": .string("skipped"), "reason": .string("another job sends it")])
            return
        }
        let domain = message.recipient.split(separator: "@").last.map(String.init) ?? ""
        // The policy as it is now: it may have changed since the reply was drafted or approved.
        let decision = try await context.decide(.autorespondSend, classification: message.level, target: domain, step: "send")
        switch decision.decision {
        case .deny:
            try await record(.blocked(decision.reason), message, draft: draft, decision: decision, context: context)
            context.setResult(["message_id": .string(message.id), "status": .string("blocked"), "reason": .string(decision.reason)])
            return
        case .requireApproval:
            switch try await approval(context) {
            case "approved": break
            case "pending":
                // Approving queues the job and then records the decision, in one transaction: a
                // worker this quick reads the approval before that commits.
                throw JobFailure(.postpone(.seconds(1)), "its approval is being recorded")
            default: throw JobFailure(.fail, "autorespond.send needs a human approval: \(decision.reason)")
            }
        case .allow: break
        }
        var account = try await AccountSession.open(.gmail, settings: settings, secrets: secrets, context: context)
        let me = account.account.account.lowercased()
        let sending = try await context.decide(.gmailSend, classification: message.level, target: message.recipient, step: "disclosure")
        let disclosure = decision.constraints.disclosureRequired || sending.constraints.disclosureRequired
        let name = account.account.details["name"]?.stringValue ?? Self.displayName(me)
        var body = draft.trimmingCharacters(in: .whitespacesAndNewlines)
        let label = Self.disclosure(name)
        if disclosure && !body.contains(label) { body += "\n\n--\n" + label }
        let reply = MailMessage(
            to: [message.recipient], subject: message.subject, body: body + "\n",
            replyTo: message.headerMessageID.map { (threadID: message.threadID, messageID: $0) }, references: message.references,
            autoReplied: true)
        let receipt = try await account.write(.gmailSend(reply), step: "reply", classification: message.level)
        try await record(.sent(receipt.id), message, draft: body, decision: decision, disclosure: disclosure, context: context)
        context.setResult([
            "message_id": .string(message.id), "status": .string("sent"), "sent_id": .string(receipt.id), "disclosure": .bool(disclosure),
        ])
    }

    enum Ending {
        case sent(String)
        case blocked(String)
    }

    func record(
        _ ending: Ending, _ message: Message, draft: String, decision: PolicyDecision, disclosure: Bool = false, context: HandlerContext
    ) async throws {
        let (status, sentID, reason): (String, String?, String) =
            switch ending {
            case .sent(let id): ("sent", id, "")
            case .blocked(let why): ("blocked", nil, why)
            }
        try await context.statements.query(
            """
            UPDATE responses SET status = $3, sent_message_id = $4, reason = $5, response = $6, policy_applied = $7, disclosure = $8,
                send_job_id = $9, sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE sent_at END, updated_at = now()
            WHERE user_id = $1 AND channel = 'gmail' AND message_id = $2
            """,
            [
                context.job.requester.user, message.id, status, sentID, reason, draft, decision.policyApplied, disclosure,
                context.job.id,
            ])
    }

    /// The status of the approval the job is (its id is the approval's), or nil.
    func approval(_ context: HandlerContext) async throws -> String? {
        try await context.statements.query("SELECT status FROM approvals WHERE id = $1", [context.job.id]).first?.string("status")
    }

    // MARK: The message and the draft

    static func message(_ id: String, user: String, context: HandlerContext) async throws -> Message? {
        guard
            let row = try await context.statements.query(
                """
                SELECT source_id, title, people::text AS people, details::text AS details, classification, message_class,
                    classified_at IS NOT NULL AS classified, findings <> '[]'::jsonb AS flagged,
                    extract(epoch FROM now() - coalesce(occurred_at, now()))::float8 AS age
                FROM items WHERE user_id = $1 AND connector = 'gmail' AND source_id = $2
                """, [user, id]
            ).first
        else { return nil }
        let people = row.string("people").flatMap { JSONValue.parse(Array($0.utf8))?.objectValue } ?? [:]
        let details = row.string("details").flatMap { JSONValue.parse(Array($0.utf8))?.objectValue } ?? [:]
        var automated: [String: String] = [:]
        for key in ["auto_submitted", "list_id", "list_unsubscribe", "precedence"] { automated[key] = details[key]?.stringValue }
        return Message(
            id: id, threadID: details["thread_id"]?.stringValue ?? "", subject: row.string("title") ?? "",
            from: people["from"]?.stringValue ?? "", replyTo: details["reply_to"]?.stringValue,
            to: people["to"]?.arrayValue?.compactMap(\.stringValue) ?? [], headerMessageID: details["message_id"]?.stringValue,
            references: details["references"]?.stringValue, labels: details["labels"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            automated: automated, level: Classification(parsing: row.string("classification")),
            messageClass: row.string("message_class").flatMap(MessageClass.init(rawValue:)), classified: row.bool("classified") ?? false,
            flagged: row.bool("flagged") ?? false, ageSeconds: row.double("age") ?? 0)
    }

    /// The reply from the template of the message's class: it acknowledges and says what
    /// happens next, promising nothing on the user's behalf.
    static func draft(for message: Message, userName: String) -> String {
        let greeting = firstName(message.from).map { "Hi \($0)," } ?? "Hello,"
        let subject = message.subject.isEmpty || !message.quotable ? "your message" : "\"\(message.subject.prefix(120))\""
        let next =
            message.messageClass == .critical
            ? "\(userName) has been alerted to it as urgent and will get back to you as soon as possible."
            : "\(userName) has received it and will get back to you shortly."
        return "\(greeting)\n\nThank you for your message about \(subject). \(next)\n\nBest regards"
    }

    /// The AI disclosure a reply carries wherever the policy requires it.
    static func disclosure(_ name: String) -> String { "Sent by \(name)'s OpenClaw assistant" }

    /// The first name of `"Ada Lovelace" <ada@x>`, or nil when the header names no one.
    static func firstName(_ header: String) -> String? {
        var name = header
        if let open = header.lastIndex(of: "<") { name = String(header[..<open]) }
        name = name.trimmingCharacters(in: CharacterSet(charactersIn: "\" ").union(.whitespaces))
        guard !name.isEmpty, !name.contains("@") else { return nil }
        if let comma = name.firstIndex(of: ",") {
            // "Lovelace, Ada"
            let rest = name[name.index(after: comma)...].trimmingCharacters(in: .whitespaces)
            return rest.split(separator: " ").first.map(String.init)
        }
        return name.split(separator: " ").first.map(String.init)
    }

    /// `alice.smith@acme.test` → `Alice Smith`.
    static func displayName(_ address: String) -> String {
        let local = address.split(separator: "@").first.map(String.init) ?? address
        return local.split(whereSeparator: { $0 == "." || $0 == "_" || $0 == "-" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: " ")
    }
}
