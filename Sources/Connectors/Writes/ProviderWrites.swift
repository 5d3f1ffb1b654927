import Contracts
import Crypto
import Foundation
import OutboundHTTP
import Settings

/// Makes writes at the providers, each under a marker (from the job and its step) that lets a
/// later run find it: the `Message-ID` of a Gmail message, an entity property on a Jira
/// comment, the client-chosen id of a Calendar event. None of these APIs has an idempotency
/// key, so a run that died between the call and its record looks for its marker before it
/// writes again.
public struct ProviderWrites: Sendable {
    public let settings: ProviderSettings
    public let account: ConnectorAccount

    public init(settings: ProviderSettings, account: ConnectorAccount) {
        self.settings = settings
        self.account = account
    }

    /// The Jira comment property that carries the marker.
    static let commentProperty = "openclaw.write"

    /// The write made under `marker` by an earlier run, if there is one.
    public func find(_ write: ConnectorWrite, marker: String, session: ProviderSession) async throws(ConnectorFailure) -> WriteReceipt? {
        switch write {
        case .gmailDraft:
            struct Drafts: Decodable {
                struct Draft: Decodable { let id: String }
                let drafts: [Draft]?
            }
            let url = "\(gmail)/drafts?" + Query.string([("q", "rfc822msgid:\(Self.messageID(marker))"), ("maxResults", "5")])
            guard let draft = try await session.get(url, as: Drafts.self).drafts?.first else { return nil }
            return receipt(write, id: draft.id, replayed: true)
        case .gmailSend:
            struct Messages: Decodable {
                struct Message: Decodable { let id: String }
                let messages: [Message]?
            }
            let url = "\(gmail)/messages?" + Query.string([("q", "rfc822msgid:\(Self.messageID(marker))"), ("maxResults", "5")])
            guard let message = try await session.get(url, as: Messages.self).messages?.first else { return nil }
            return receipt(write, id: message.id, replayed: true)
        case .jiraComment(let issue, _):
            struct Page: Decodable {
                struct Comment: Decodable {
                    struct Property: Decodable {
                        let key: String
                        let value: JSONValue?
                    }
                    let id: String
                    let properties: [Property]?
                }
                let comments: [Comment]
            }
            let url =
                "\(try jira)/issue/\(Query.encode(issue))/comment?"
                + Query.string([("expand", "properties"), ("orderBy", "-created"), ("maxResults", "100")])
            let page = try await session.get(url, as: Page.self)
            let mine = page.comments.first { comment in
                comment.properties?.contains { $0.key == Self.commentProperty && $0.value?.objectValue?["marker"]?.stringValue == marker }
                    ?? false
            }
            return mine.map { receipt(write, id: $0.id, replayed: true) }
        case .jiraTransition(let issue, let status):
            // Reaching the status is the write: an issue already there needs nothing.
            return try await currentStatus(issue, session: session).caseInsensitiveCompare(status) == .orderedSame
                ? receipt(write, id: status, replayed: true) : nil
        case .calendarInsert:
            struct Event: Decodable {
                let id: String
                let htmlLink: String?
                let status: String?
            }
            do {
                let event = try await session.get("\(calendar)/\(Self.eventID(marker))", as: Event.self)
                return event.status == "cancelled" ? nil : receipt(write, id: event.id, link: event.htmlLink, replayed: true)
            } catch {
                if case .notFound = error { return nil }
                throw error
            }
        }
    }

    /// Makes the write.
    public func make(_ write: ConnectorWrite, marker: String, session: ProviderSession) async throws(ConnectorFailure) -> WriteReceipt {
        switch write {
        case .gmailDraft(let message):
            struct Draft: Decodable { let id: String }
            var inner: [String: JSONValue] = ["raw": .string(Self.raw(message, marker: marker))]
            if let thread = message.replyTo?.threadID { inner["threadId"] = .string(thread) }
            let response = try await session.send(json("POST", "\(gmail)/drafts", ["message": .object(inner)]))
            return receipt(write, id: try ProviderSession.decode(Draft.self, response, from: "\(gmail)/drafts").id)
        case .gmailSend(let message):
            struct Sent: Decodable { let id: String }
            var body: [String: JSONValue] = ["raw": .string(Self.raw(message, marker: marker))]
            if let thread = message.replyTo?.threadID { body["threadId"] = .string(thread) }
            let response = try await session.send(json("POST", "\(gmail)/messages/send", body))
            return receipt(write, id: try ProviderSession.decode(Sent.self, response, from: "\(gmail)/messages/send").id)
        case .jiraComment(let issue, let text):
            struct Comment: Decodable { let id: String }
            let url = "\(try jira)/issue/\(Query.encode(issue))/comment"
            let response = try await session.send(
                json(
                    "POST", url,
                    [
                        "body": Self.document(text),
                        "properties": .array([
                            .object(["key": .string(Self.commentProperty), "value": .object(["marker": .string(marker)])])
                        ]),
                    ]))
            let site = account.details["site"]?.stringValue ?? ""
            return receipt(
                write, id: try ProviderSession.decode(Comment.self, response, from: url).id,
                link: site.isEmpty ? nil : "\(site)/browse/\(issue)")
        case .jiraTransition(let issue, let status):
            struct Transitions: Decodable {
                struct Transition: Decodable {
                    struct Target: Decodable { let name: String }
                    let id: String
                    let name: String
                    let to: Target
                }
                let transitions: [Transition]
            }
            let url = "\(try jira)/issue/\(Query.encode(issue))/transitions"
            let available = try await session.get(url, as: Transitions.self).transitions
            guard let transition = available.first(where: { $0.to.name.caseInsensitiveCompare(status) == .orderedSame }) else {
                throw .fail(
                    "\(issue) cannot move to '\(status)' from where it is; it can move to: \(available.map(\.to.name).joined(separator: ", "))"
                )
            }
            _ = try await session.send(json("POST", url, ["transition": .object(["id": .string(transition.id)])]))
            return receipt(write, id: transition.to.name)
        case .calendarInsert(let event):
            struct Created: Decodable {
                let id: String
                let htmlLink: String?
            }
            var body: [String: JSONValue] = [
                "id": .string(Self.eventID(marker)), "summary": .string(event.summary),
                "start": .object(["dateTime": .string(ProviderTime.string(event.start))]),
                "end": .object(["dateTime": .string(ProviderTime.string(event.end))]),
            ]
            if let description = event.description { body["description"] = .string(description) }
            if !event.attendees.isEmpty { body["attendees"] = .array(event.attendees.map { .object(["email": .string($0)]) }) }
            let url = "\(calendar)?" + Query.string([("sendUpdates", "all")])
            do {
                let response = try await session.send(json("POST", url, body))
                let created = try ProviderSession.decode(Created.self, response, from: url)
                return receipt(write, id: created.id, link: created.htmlLink)
            } catch {
                // 409 duplicate: the event is there already (the insert is idempotent by its id).
                if case .fail(let why) = error, why.contains("answered 409"),
                    let found = try await find(write, marker: marker, session: session)
                {
                    return found
                }
                throw error
            }
        }
    }

    // MARK: Providers' addresses

    var gmail: String { "\(settings.google.gmailURL)/gmail/v1/users/me" }
    var calendar: String { "\(settings.google.calendarURL)/calendar/v3/calendars/primary/events" }
    var jira: String {
        get throws(ConnectorFailure) {
            guard let cloud = account.details["cloud_id"]?.stringValue else {
                throw .fail("the Jira account is connected without its site; connect it again")
            }
            return "\(settings.atlassian.jiraURL)/ex/jira/\(Query.encode(cloud))/rest/api/3"
        }
    }

    func currentStatus(_ issue: String, session: ProviderSession) async throws(ConnectorFailure) -> String {
        struct Issue: Decodable {
            struct Fields: Decodable {
                struct Status: Decodable { let name: String }
                let status: Status?
            }
            let fields: Fields
        }
        return try await session.get("\(try jira)/issue/\(Query.encode(issue))?fields=status", as: Issue.self).fields.status?.name ?? ""
    }

    func receipt(_ write: ConnectorWrite, id: String, link: String? = nil, replayed: Bool = false) -> WriteReceipt {
        WriteReceipt(connector: write.connector.rawValue, action: write.action.rawValue, id: id, link: link, replayed: replayed)
    }

    func json(_ method: String, _ url: String, _ body: [String: JSONValue]) -> OutboundRequest {
        OutboundRequest(
            method: method, url: url, headers: [("Content-Type", "application/json")], body: JSONValue.object(body).canonicalBytes)
    }

    // MARK: Formats

    /// The `Message-ID` a message written under `marker` carries.
    public static func messageID(_ marker: String) -> String { "<\(hex(marker).prefix(32))@openclaw.fleet>" }

    /// The Calendar event id an event written under `marker` gets (base32hex: `a-v`, `0-9`).
    public static func eventID(_ marker: String) -> String { "oc" + hex(marker).prefix(40) }

    static func hex(_ text: String) -> String { SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }

    /// The message as RFC 2822, base64url-encoded, as Gmail takes it: headers without line
    /// breaks (no header injection), non-ASCII words encoded (RFC 2047), the text base64.
    public static func raw(_ message: MailMessage, marker: String) -> String {
        func clean(_ value: String) -> String { value.filter { $0 != "\r" && $0 != "\n" } }
        func encoded(_ value: String) -> String {
            let value = clean(value)
            return value.allSatisfy(\.isASCII) ? value : "=?UTF-8?B?\(Data(value.utf8).base64EncodedString())?="
        }
        var lines = ["To: \(message.to.map(clean).joined(separator: ", "))"]
        if !message.cc.isEmpty { lines.append("Cc: \(message.cc.map(clean).joined(separator: ", "))") }
        var subject = message.subject
        if let reply = message.replyTo {
            if !subject.lowercased().hasPrefix("re:") { subject = "Re: " + subject }
            lines.append("In-Reply-To: \(clean(reply.messageID))")
            let earlier = message.references.map(clean)?.trimmingCharacters(in: .whitespaces) ?? ""
            lines.append("References: \(earlier.isEmpty ? "" : earlier + " ")\(clean(reply.messageID))")
        }
        if message.autoReplied { lines.append("Auto-Submitted: auto-replied") }
        lines += [
            "Subject: \(encoded(subject))", "Message-ID: \(messageID(marker))", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=\"UTF-8\"", "Content-Transfer-Encoding: base64",
        ]
        let body = Data(message.body.utf8).base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
        ])
        let text = lines.joined(separator: "\r\n") + "\r\n\r\n" + body + "\r\n"
        return Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Plain text as an Atlassian document: a paragraph per blank-line-separated block.
    public static func document(_ text: String) -> JSONValue {
        let paragraphs = text.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter {
            !$0.isEmpty
        }
        return .object([
            "type": .string("doc"), "version": .integer(1),
            "content": .array(
                paragraphs.map {
                    .object(["type": .string("paragraph"), "content": .array([.object(["type": .string("text"), "text": .string($0)])])])
                }),
        ])
    }
}
