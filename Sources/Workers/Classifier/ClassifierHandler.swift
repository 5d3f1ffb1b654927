import Classifier
import Connectors
import Contracts
import Crypto
import Foundation
import PostgresClient
import Settings
import WorkerRuntime

/// The `classifier` kind: sets the data level of the requester's synced items of one connector
/// and, for mail, each message's class.
///
/// The items are read again at their source (a sync keeps no bodies), a batch at a time; a
/// level is the connector's default raised by what the detectors find, unless an admin
/// overrode it; the findings name the detector and where, never the text. Each batch is
/// audited before it is stored, under a key derived from the items it holds, and stored only
/// where the item was not synced again meanwhile (it then waits for the next run).
struct ClassifierHandler: KindHandler {
    typealias Contract = ClassifierKind

    let settings: ProviderSettings
    let secrets: SecretBox
    /// Items read and stored together.
    let batchSize: Int
    /// Items one run classifies at most; the rest go on in a later run of the same job.
    let itemsPerRun: Int
    let classifier = Classifier()
    /// Asked where the policy allows, after the rules; it may only raise a level.
    let model: ModelBackend?

    init(settings: ProviderSettings, secrets: SecretBox, batchSize: Int = 100, itemsPerRun: Int = 2_000) {
        self.settings = settings
        self.secrets = secrets
        model = ModelBackend(settings.model)
        self.batchSize = batchSize
        self.itemsPerRun = itemsPerRun
    }

    /// An item as stored, waiting to be classified.
    struct Stored {
        let sourceID: String
        let type: String
        let details: [String: JSONValue]
        let defaultLevel: Classification
        let override: Classification?
        /// When it happened (seconds since 1970).
        let occurredAt: Double?
        /// The item's version: a classification is stored only while the item is as it was read.
        let syncedAt: String

        var reference: ItemReference { ItemReference(sourceID: sourceID, type: type, details: details) }
    }

    /// What classifying one item decided.
    struct Outcome {
        let item: Stored
        let level: Classification
        let findings: [Finding]
        let messageClass: ClassDecision?
        /// A fresh message to the user that may need an answer: the auto-responder is asked.
        let mayNeedReply: Bool
    }

    struct Totals {
        var classified = 0
        var raised = 0
        var gone = 0
        var byLevel: [Classification: Int] = [:]
        var byClass: [MessageClass: Int] = [:]
    }

    func handle(_ payload: ClassifierKind.Payload, context: HandlerContext) async throws {
        let connector = payload.source
        // The read as the policy stands now.
        try await context.authorize(connector.readAction, step: "classify")
        var account = try await AccountSession.open(connector, settings: settings, secrets: secrets, context: context)
        guard let reader = reader(connector, account: account.account) else {
            throw JobFailure(.fail, "\(connector.rawValue) is connected without what reading its items needs; connect it again")
        }
        let tenantDirectory = connector == .gmail ? try await Self.directory(context, account: account.account) : nil
        let directory = tenantDirectory?.directory
        let externalLevel = tenantDirectory?.externalRecipients
        if let directory, context.attempt > 1 { try await askAgain(context, directory: directory) }
        var totals = Totals()
        var more = false
        var modelAllowed: [Classification: Bool] = [:]
        while true {
            let batch = try await pending(context, connector, itemID: payload.itemID, limit: batchSize)
            if batch.isEmpty { break }
            if payload.itemID == nil && totals.classified + totals.gone >= itemsPerRun {
                more = true
                break
            }
            let contents = try await account.call { session throws(ConnectorFailure) in
                try await reader.read(batch.map(\.reference), session: session)
            }
            let replied = directory != nil ? try await threadsRepliedTo(context, batch) : [:]
            var outcomes: [Outcome] = []
            var gone: [Stored] = []
            for (item, content) in zip(batch, contents) {
                guard let content else {
                    gone.append(item)
                    continue
                }
                var outcome = classify(
                    item, content, connector: connector, directory: directory, replied: replied, externalLevel: externalLevel)
                if let model { outcome = try await refine(outcome, content, model: model, allowed: &modelAllowed, context: context) }
                outcomes.append(outcome)
            }
            try await audit(outcomes, gone: gone.count, connector: connector, context: context)
            let stored = try await store(outcomes, gone: gone, connector: connector, context: context)
            try await askForReplies(outcomes.filter { stored.contains($0.item.sourceID) }, context: context)
            for outcome in outcomes {
                totals.classified += 1
                if outcome.level > outcome.item.defaultLevel { totals.raised += 1 }
                totals.byLevel[outcome.level, default: 0] += 1
                if let decided = outcome.messageClass { totals.byClass[decided.messageClass, default: 0] += 1 }
            }
            totals.gone += gone.count
            if payload.itemID != nil { break }
        }
        if more {
            throw JobFailure(.postpone(.milliseconds(100)), "\(totals.classified) items classified; the rest in the next run")
        }
        // The user's tasks follow what is now known of their items.
        let tasks = try await TaskRefresh.run(context)
        context.setResult([
            "tasks": .object([
                "open": .integer(Int64(tasks.open)), "new": .integer(Int64(tasks.created)), "closed": .integer(Int64(tasks.closed)),
            ]),
            "connector": .string(connector.rawValue), "classified": .integer(Int64(totals.classified)),
            "raised": .integer(Int64(totals.raised)), "gone": .integer(Int64(totals.gone)),
            "levels": .object(Dictionary(uniqueKeysWithValues: totals.byLevel.map { ($0.key.rawValue, .integer(Int64($0.value))) })),
            "classes": .object(Dictionary(uniqueKeysWithValues: totals.byClass.map { ($0.key.rawValue, .integer(Int64($0.value))) })),
            "items_link": .string("/v1/items?connector=\(connector.rawValue)"),
        ])
    }

    /// The level of `item` and, for a message, its class.
    func classify(
        _ item: Stored, _ content: ItemContent, connector: Connector, directory: Directory?, replied: [String: Double],
        externalLevel: Classification? = nil
    ) -> Outcome {
        let source: ClassifiableItem.Source
        switch connector {
        case .gmail: source = .gmail
        case .gcal: source = .calendar
        case .gdrive: source = .drive(sharedPublicly: item.defaultLevel == .public, labels: content.labels)
        case .jira: source = .jira(securityLevel: content.securityLevel)
        case .github: source = .github(repoPrivate: item.defaultLevel != .public)
        }
        var userReplied = false
        if let thread = item.details["thread_id"]?.stringValue, let lastSent = replied[thread] {
            userReplied = item.occurredAt.map { lastSent < $0 } ?? true
        }
        let classifiable = ClassifiableItem(
            source: source, title: content.title, body: content.body, from: content.from, to: content.to, cc: content.cc,
            headers: content.headers, userRepliedInThread: userReplied)
        var level = classifier.level(of: classifiable)
        if let externalLevel, let directory, externalLevel > level.level,
            ([content.from] + content.to + content.cc).contains(where: { !Self.isInternal($0, directory) })
        {
            let finding = Finding(detector: .externalRecipient, field: .metadata, offset: 0, raises: externalLevel)
            level = LevelDecision(level: externalLevel, defaultLevel: level.defaultLevel, findings: level.findings + [finding])
        }
        let messageClass = item.type == "message" ? directory.map { classifier.messageClass(of: classifiable, directory: $0) } : nil
        var mayNeedReply = false
        if let directory, let decided = messageClass?.messageClass, decided == .needsResponse || decided == .critical {
            let fresh = item.occurredAt.map { Date().timeIntervalSince1970 - $0 < Self.replyWindow } ?? false
            mayNeedReply =
                fresh && Addresses.bare(content.from) != directory.userEmail
                && content.to.contains { Addresses.bare($0) == directory.userEmail }
        }
        return Outcome(
            item: item, level: item.override ?? level.level, findings: level.findings, messageClass: messageClass,
            mayNeedReply: mayNeedReply)
    }

    static let modelInstructions = """
        You classify one item of a company's mail, documents or tickets. Answer with a JSON object only:
        {"level": "public" | "internal" | "confidential" | "restricted", "class": "critical" | "needs_response" | "informational" | "noise" | null, "confidence": a number from 0 to 1}.
        level: restricted for credentials, keys, payment or national identity data and privileged legal matters; confidential for
        personal data, contracts, finances, unreleased plans; internal for ordinary business; public for what is published.
        class (messages only, else null): critical when urgent action is needed now; needs_response when the recipient is asked
        something; informational when it only informs; noise for newsletters, promotions and automated notices.
        """

    /// The rules' outcome, reconsidered by the model where the policy lets the item's data go
    /// to it: a valid answer may raise the level (never lower it) and, when surer than the rules,
    /// set a message's class. An admin's override is left alone; any failure keeps the rules'.
    func refine(
        _ outcome: Outcome, _ content: ItemContent, model: ModelBackend, allowed: inout [Classification: Bool], context: HandlerContext
    ) async throws -> Outcome {
        guard outcome.item.override == nil else { return outcome }
        let level = outcome.level
        if allowed[level] == nil { allowed[level] = try await model.allowed(level, context: context, step: "model:\(level.rawValue)") }
        guard allowed[level] == true else { return outcome }
        var prompt = "Title: \(content.title.prefix(500))\n"
        if outcome.item.type == "message" {
            prompt += "From: \(content.from.prefix(300))\nTo: \(content.to.prefix(10).joined(separator: ", ").prefix(500))\n"
        }
        prompt += "\n" + String(content.body.prefix(6_000))
        let key = SHA256.hash(data: Array("\(outcome.item.sourceID)@\(outcome.item.syncedAt)".utf8)).prefix(12).map {
            String(format: "%02x", $0)
        }.joined()
        guard
            let text = try await model.ask(
                system: Self.modelInstructions, prompt: prompt, json: true, maxTokens: 120, level: level, purpose: "classification",
                context: context, step: "model:\(key)"),
            let answer = JSONValue.parse(Array(text.utf8))?.objectValue,
            let said = answer["level"]?.stringValue.flatMap(Classification.init(rawValue:))
        else {
            context.logger.info("the model's answer did not validate; the rules decide", metadata: ["item": "\(outcome.item.sourceID)"])
            return outcome
        }
        var findings = outcome.findings
        var raised = level
        if said > level {
            raised = said
            findings.append(Finding(detector: .model, field: .body, offset: 0, raises: said))
        }
        var messageClass = outcome.messageClass
        if let rules = messageClass, let named = answer["class"]?.stringValue.flatMap(MessageClass.init(rawValue:)),
            let sure = answer["confidence"]?.doubleValue, (0...1).contains(sure), sure > rules.confidence
        {
            messageClass = ClassDecision(messageClass: named, confidence: sure, reasons: ["the model (\(model.settings.name))"])
        }
        return Outcome(
            item: outcome.item, level: raised, findings: findings, messageClass: messageClass, mayNeedReply: outcome.mayNeedReply)
    }

    /// How old a message may be for the auto-responder to be asked about it.
    static let replyWindow: TimeInterval = 2 * 86_400

    /// Asks the auto-responder about each fresh message to the user that may need an answer
    /// (it decides whether it is answered, and the policy whether and how).
    func askForReplies(_ outcomes: [Outcome], context: HandlerContext) async throws {
        for outcome in outcomes where outcome.mayNeedReply {
            try await askAboutMessage(outcome.item.sourceID, level: outcome.level, context: context)
        }
    }

    /// Submits the auto-responder's job for one message (once per job: the step says which).
    func askAboutMessage(_ id: String, level: Classification, context: HandlerContext) async throws {
        let asked = try await context.followUp(
            AutoResponderKind.self, action: .gmailRead, payload: .init(channel: "gmail", messageID: id), classification: level,
            step: "respond:\(id)")
        if case .denied(let reason) = asked {
            context.logger.info("the auto-responder was not asked about a message", metadata: ["message": "\(id)", "reason": "\(reason)"])
        }
    }

    /// On a later attempt: asks again about the messages an earlier attempt stored but may not
    /// have asked about (its run stopped between the two; they are no longer waiting). A message
    /// it did ask about is not asked twice (the same step), and one already answered is skipped.
    func askAgain(_ context: HandlerContext, directory: Directory) async throws {
        let rows = try await context.statements.query(
            """
            SELECT source_id, people::text AS people, classification FROM items
            WHERE user_id = $1 AND connector = 'gmail' AND message_class IN ('needs_response', 'critical') AND classified_at >= $2
                AND occurred_at > now() - make_interval(secs => $3)
                AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.user_id = items.user_id AND r.channel = 'gmail'
                    AND r.message_id = items.source_id)
            ORDER BY occurred_at DESC LIMIT 500
            """,
            [context.job.requester.user, PostgresTimestamp(Clock.date(milliseconds: context.job.enqueuedAt)), Self.replyWindow])
        for row in rows {
            guard let id = row.string("source_id") else { continue }
            let people = row.string("people").flatMap { JSONValue.parse(Array($0.utf8))?.objectValue } ?? [:]
            let from = Addresses.bare(people["from"]?.stringValue ?? "")
            let to = people["to"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard from != directory.userEmail, to.contains(where: { Addresses.bare($0) == directory.userEmail }) else { continue }
            try await askAboutMessage(id, level: Classification(parsing: row.string("classification")), context: context)
        }
    }

    /// The items waiting (or the one asked for), newest first.
    func pending(_ context: HandlerContext, _ connector: Connector, itemID: String?, limit: Int) async throws -> [Stored] {
        let user = context.job.requester.user
        let rows =
            if let itemID {
                try await context.statements.query(
                    """
                    SELECT source_id, item_type, details, coalesce(default_level, classification) AS default_level, override_level,
                        extract(epoch FROM occurred_at)::float8 AS occurred, synced_at FROM items
                    WHERE user_id = $1 AND connector = $2 AND source_id = $3 AND (classified_at IS NULL OR classified_at < $4)
                    """, [user, connector.rawValue, itemID, PostgresTimestamp(Clock.date(milliseconds: context.job.enqueuedAt))])
            } else {
                try await context.statements.query(
                    """
                    SELECT source_id, item_type, details, coalesce(default_level, classification) AS default_level, override_level,
                        extract(epoch FROM occurred_at)::float8 AS occurred, synced_at FROM items
                    WHERE user_id = $1 AND connector = $2 AND classified_at IS NULL
                    ORDER BY occurred_at DESC NULLS LAST, source_id LIMIT $3
                    """, [user, connector.rawValue, limit])
            }
        return rows.compactMap { row in
            guard let id = row.string("source_id"), let synced = row.string("synced_at") else { return nil }
            return Stored(
                sourceID: id, type: row.string("item_type") ?? "",
                details: row.string("details").flatMap { JSONValue.parse(Array($0.utf8))?.objectValue } ?? [:],
                defaultLevel: row.string("default_level").flatMap(Classification.init(rawValue:)) ?? .restricted,
                override: row.string("override_level").flatMap(Classification.init(rawValue:)), occurredAt: row.double("occurred"),
                syncedAt: synced)
        }
    }

    /// For the batch's mail threads in which the user sent a message: when they last did
    /// (seconds since 1970).
    func threadsRepliedTo(_ context: HandlerContext, _ batch: [Stored]) async throws -> [String: Double] {
        let threads = Set(batch.compactMap { $0.details["thread_id"]?.stringValue })
        guard !threads.isEmpty else { return [:] }
        let rows = try await context.statements.query(
            """
            SELECT details->>'thread_id' AS thread, extract(epoch FROM max(occurred_at))::float8 AS last_sent FROM items
            WHERE user_id = $1 AND connector = 'gmail' AND details->>'thread_id' = ANY($2::text[]) AND details->'labels' ? 'SENT'
            GROUP BY 1
            """, [context.job.requester.user, PostgresArray(threads.sorted())])
        var out: [String: Double] = [:]
        for row in rows { if let thread = row.string("thread"), let last = row.double("last_sent") { out[thread] = last } }
        return out
    }

    /// Audits what a batch read and found: counts per level and per detector, never content.
    func audit(_ outcomes: [Outcome], gone: Int, connector: Connector, context: HandlerContext) async throws {
        guard !outcomes.isEmpty else { return }
        let highest = outcomes.map(\.level).max() ?? connector.defaultClassification
        var detectors: [String: Int] = [:]
        for outcome in outcomes { for finding in outcome.findings { detectors[finding.detector.rawValue, default: 0] += 1 } }
        var levels: [String: Int] = [:]
        for outcome in outcomes { levels[outcome.level.rawValue, default: 0] += 1 }
        let ids = outcomes.map { "\($0.item.sourceID)@\($0.item.syncedAt)" }.joined(separator: "\n")
        let key = SHA256.hash(data: Array(ids.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        try await context.audit.record(
            .dataAccess, step: "classify:\(key)",
            detail: [
                "connector": .string(connector.rawValue), "items_classified": .integer(Int64(outcomes.count)),
                "items_gone": .integer(Int64(gone)),
                "levels": .object(levels.mapValues { .integer(Int64($0)) }),
                "findings": .object(detectors.mapValues { .integer(Int64($0)) }),
            ],
            dataAccessed: [.init(source: connector.rawValue, classification: highest, purpose: "classification")],
            classification: highest)
    }

    /// Stores the batch in one statement: each item's level, findings and class, where the item
    /// is still the version that was read. Items gone at the source are left to the sync, and
    /// marked so this run does not read them again.
    /// Returns the ids stored (the others were synced again meanwhile).
    @discardableResult
    func store(_ outcomes: [Outcome], gone: [Stored], connector: Connector, context: HandlerContext) async throws -> Set<String> {
        func json(_ value: some Encodable) -> String {
            String(decoding: (try? JSONEncoder().encode(value)) ?? Data("[]".utf8), as: UTF8.self)
        }
        let all =
            outcomes.map { ($0.item, $0.level.rawValue as String?, json($0.findings), $0.messageClass) } + gone.map { ($0, nil, "[]", nil) }
        guard !all.isEmpty else { return [] }
        // An override set meanwhile stands; an item gone at the source keeps what it had.
        let rows = try await context.statements.query(
            """
            UPDATE items SET classification = coalesce(items.override_level, x.level, items.classification),
                findings = CASE WHEN x.level IS NULL THEN items.findings ELSE x.findings::jsonb END,
                message_class = CASE WHEN x.level IS NULL THEN items.message_class ELSE x.class END,
                class_confidence = CASE WHEN x.level IS NULL THEN items.class_confidence ELSE x.confidence END,
                class_reasons = CASE WHEN x.level IS NULL THEN items.class_reasons ELSE x.reasons::jsonb END, classified_at = now()
            FROM unnest($3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::real[], $9::text[])
                AS x(id, synced, level, findings, class, confidence, reasons)
            WHERE items.user_id = $1 AND items.connector = $2 AND items.source_id = x.id AND items.synced_at = x.synced
            RETURNING items.source_id
            """,
            [
                context.job.requester.user, connector.rawValue, PostgresArray(all.map(\.0.sourceID)), PostgresArray(all.map(\.0.syncedAt)),
                PostgresArray(all.map(\.1)), PostgresArray(all.map { Optional($0.2) }),
                PostgresArray(all.map { $0.3?.messageClass.rawValue }),
                PostgresArray(all.map { $0.3.map { String($0.confidence) } }),
                PostgresArray(all.map { Optional(json($0.3?.reasons ?? [])) }),
            ])
        return Set(rows.compactMap { $0.string("source_id") })
    }

    /// Whether an address is of one of the directory's internal domains (or a subdomain).
    static func isInternal(_ address: String, _ directory: Directory) -> Bool {
        let domain = Addresses.bare(address).split(separator: "@").last.map(String.init) ?? ""
        return directory.internalDomains.contains { domain == $0 || domain.hasSuffix("." + $0) }
    }

    /// The tenant's directory as the classifier sees it for this user: their address, the
    /// internal domains (theirs and the tenant's list), the VIPs; and the level the tenant
    /// gives mail that crosses its domains, if any.
    static func directory(
        _ context: HandlerContext, account: ConnectorAccount
    ) async throws -> (directory: Directory, externalRecipients: Classification?) {
        let email = account.account.lowercased()
        let rows = try await context.statements.query(
            """
            SELECT entry_type, value FROM directory_entries
            UNION ALL SELECT 'setting:' || name, value FROM directory_settings WHERE name = 'external_recipients_level'
            """, [])
        var external: Classification?
        var domains = email.split(separator: "@").last.map { [String($0)] } ?? []
        var vips: [String] = []
        for row in rows {
            guard let value = row.string("value") else { continue }
            switch row.string("entry_type") {
            case "internal_domain": domains.append(value)
            case "vip": vips.append(value)
            default: external = Classification(rawValue: value)
            }
        }
        let name = account.details["name"]?.stringValue ?? String(email.split(separator: "@").first ?? "")
        return (Directory(userEmail: email, userName: name, internalDomains: domains, vips: vips), external)
    }

    /// The reader of `connector`'s items, with what the account says about where it lives.
    func reader(_ connector: Connector, account: ConnectorAccount) -> (any ContentReader)? {
        switch connector {
        case .gmail: return GmailContent(host: settings.google.gmailURL)
        case .gcal: return CalendarContent(host: settings.google.calendarURL)
        case .gdrive: return DriveContent(host: settings.google.driveURL)
        case .jira:
            guard let cloud = account.details["cloud_id"]?.stringValue else { return nil }
            return JiraContent(gateway: settings.atlassian.jiraURL, cloudID: cloud)
        case .github: return GitHubContent(api: settings.github.apiURL)
        }
    }
}
