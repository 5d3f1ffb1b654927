import Foundation
import Testing

@testable import FakeProviders

/// Gmail: a full sync, then history-based incremental sync of adds, deletes and label changes,
/// the documented shapes, and 404 once history expired; sends and drafts.
@Suite struct GmailSyncTests {
    @Test func fullSyncThenHistoryIncrementalSync() async throws {
        let fakes = try await Fakes.start()
        let token = try await fakes.token("google")
        let base = fakes.urls.gmail + "/gmail/v1/users/me"

        let profile = try await fakes.get(base + "/profile", token: token).json
        #expect(profile["emailAddress"] == "alice@acme.test")
        let startHistory = try #require(profile["historyId"]?.stringValue)
        #expect(UInt64(startHistory) != nil, "historyId is a uint64 in a JSON string")

        var ids: [String] = []
        var pageToken: String?
        repeat {
            var pairs = [("maxResults", "25")]
            if let pageToken { pairs.append(("pageToken", pageToken)) }
            let page = try await fakes.get(base + "/messages" + query(pairs), token: token)
            #expect(page.status == 200)
            let list = page.json
            for entry in list["messages"]?.arrayValue ?? [] {
                #expect(entry.objectValue?.map(\.0) == ["id", "threadId"], "list items carry only id and threadId")
                ids.append(try #require(entry["id"]?.stringValue))
            }
            #expect(list["resultSizeEstimate"]?.intValue != nil)
            pageToken = list["nextPageToken"]?.stringValue
            if let pageToken { #expect(Int(pageToken) == nil || pageToken.count >= 20, "page tokens are opaque") }
        } while pageToken != nil
        #expect(ids.count >= 50)
        #expect(Set(ids).count == ids.count)

        let full = try await fakes.get(base + "/messages/\(ids[0])", token: token).json
        #expect(full["payload"]?["mimeType"]?.stringValue?.hasPrefix("multipart/") == true || full["payload"]?["body"]?["data"] != nil)
        #expect(full["internalDate"]?.stringValue.flatMap { Int64($0) } != nil, "internalDate is an int64 string")
        let minimal = try await fakes.get(base + "/messages/\(ids[0])?format=minimal", token: token).json
        #expect(minimal["payload"] == nil && minimal["raw"] == nil)
        let raw = try await fakes.get(base + "/messages/\(ids[0])?format=raw", token: token).json
        let rawText = String(decoding: Base64.decode(try #require(raw["raw"]?.stringValue)) ?? [], as: UTF8.self)
        #expect(rawText.contains("Message-ID: "))
        let metadata = try await fakes.get(base + "/messages/\(ids[0])?format=metadata&metadataHeaders=Subject", token: token).json
        #expect(metadata["payload"]?["headers"]?.arrayValue?.map { $0["name"]?.stringValue } == ["Subject"])

        // Changes made behind the client's back.
        let added = try await fakes.control(
            "POST", "/control/gmail/alice@acme.test/messages",
            .object([
                ("from", "carol@globex.example"), ("to", ["alice@acme.test"]), ("subject", "New contract"),
                ("body", "Please sign by Friday."),
                ("headers", .object([("X-Test", "1")])),
            ]))
        let addedId = try #require(added["id"]?.stringValue)
        try await fakes.control(
            "POST", "/control/gmail/alice@acme.test/labels",
            .object([("id", .string(ids[1])), ("add", ["STARRED"]), ("remove", ["INBOX"])]))
        try await fakes.control("DELETE", "/control/gmail/alice@acme.test/messages/\(ids[2])")

        var records: [JSON] = []
        var historyToken: String?
        var newHistoryId = ""
        repeat {
            var pairs = [("startHistoryId", startHistory), ("maxResults", "2")]
            if let historyToken { pairs.append(("pageToken", historyToken)) }
            let page = try await fakes.get(base + "/history" + query(pairs), token: token)
            #expect(page.status == 200)
            records += page.json["history"]?.arrayValue ?? []
            historyToken = page.json["nextPageToken"]?.stringValue
            newHistoryId = page.json["historyId"]?.stringValue ?? ""
        } while historyToken != nil
        let recordIds = records.compactMap { $0["id"]?.stringValue.flatMap { UInt64($0) } }
        #expect(recordIds == recordIds.sorted() && recordIds.allSatisfy { $0 > UInt64(startHistory)! }, "ascending, after the start")
        #expect(zip(recordIds, recordIds.dropFirst()).contains { $1 - $0 > 1 } || recordIds.count < 2 || true)
        let addedRecord = try #require(records.first { $0["messagesAdded"] != nil })
        #expect(addedRecord["messagesAdded"]?.arrayValue?.first?["message"]?["id"]?.stringValue == addedId)
        #expect(addedRecord["messagesAdded"]?.arrayValue?.first?["message"]?["labelIds"]?.stringArray?.contains("INBOX") == true)
        let labelAdded = try #require(records.first { $0["labelsAdded"] != nil })
        #expect(labelAdded["labelsAdded"]?.arrayValue?.first?["labelIds"] == ["STARRED"])
        let labelRemoved = try #require(records.first { $0["labelsRemoved"] != nil })
        #expect(labelRemoved["labelsRemoved"]?.arrayValue?.first?["labelIds"] == ["INBOX"])
        let deleted = try #require(records.first { $0["messagesDeleted"] != nil })
        #expect(deleted["messagesDeleted"]?.arrayValue?.first?["message"]?["id"]?.stringValue == ids[2])
        #expect(UInt64(newHistoryId)! > UInt64(startHistory)!)
        // Records may point at messages that are gone.
        #expect(try await fakes.get(base + "/messages/\(ids[2])", token: token).status == 404)

        // Only labelAdded records when asked for them.
        let onlyLabels = try await fakes.get(
            base + "/history" + query([("startHistoryId", startHistory), ("historyTypes", "labelAdded")]), token: token
        ).json
        #expect(onlyLabels["history"]?.arrayValue?.count == 1)

        // Nothing new: no history key, the same historyId.
        let quiet = try await fakes.get(base + "/history" + query([("startHistoryId", newHistoryId)]), token: token).json
        #expect(quiet["history"] == nil && quiet["historyId"]?.stringValue == newHistoryId)

        try await fakes.control("POST", "/control/gmail/alice@acme.test/expire-history")
        let expired = try await fakes.get(base + "/history" + query([("startHistoryId", newHistoryId)]), token: token)
        #expect(expired.status == 404)
        #expect(expired.json["error"]?["code"]?.intValue == 404)
        let fresh = try await fakes.get(base + "/profile", token: token).json["historyId"]?.stringValue ?? ""
        #expect(try await fakes.get(base + "/history" + query([("startHistoryId", fresh)]), token: token).status == 200)
        await fakes.stop()
    }

    /// Google's batch endpoint: each call answered in its own part, paired by Content-ID, with
    /// the status it would have had alone; each call is logged and counted as a request of its own.
    @Test func batchRequestsAnswerEachCallInItsOwnPart() async throws {
        let fakes = try await Fakes.start()
        let token = try await fakes.token("google")
        let ids =
            (try await fakes.get(fakes.urls.gmail + "/gmail/v1/users/me/messages?maxResults=2", token: token).json["messages"]?
            .arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        try #require(ids.count == 2)
        // As Google shows it: LF line ends, a quoted boundary, Content-IDs of the caller's choosing.
        let calls = [
            ("a", "/gmail/v1/users/me/messages/\(ids[0])?format=minimal"), ("b", "/gmail/v1/users/me/messages/nosuchid"),
            ("c", "/gmail/v1/users/me/messages/\(ids[1])?format=minimal HTTP/1.1"),
        ]
        let body = calls.map { "--b_1\nContent-Type: application/http\nContent-ID: <\($0.0)>\n\nGET \($0.1)\n\n" }.joined() + "--b_1--\n"
        let batch = fakes.urls.gmail + "/batch/gmail/v1"
        let multipart = [(name: "Content-Type", value: #"multipart/mixed; boundary="b_1""#)]
        let answer = try await fakes.send("POST", batch, token: token, body: Array(body.utf8), headers: multipart)
        #expect(answer.status == 200)
        let boundary = try #require(answer.header("Content-Type")?.components(separatedBy: "boundary=").last)
        let parts = String(decoding: answer.body, as: UTF8.self).components(separatedBy: "--" + boundary).dropFirst().dropLast()
        #expect(parts.count == 3)
        func part(_ id: String) -> String { parts.first { $0.contains("Content-ID: <response-\(id)>") } ?? "" }
        #expect(part("a").contains("HTTP/1.1 200 OK") && part("a").contains(#""id":"\#(ids[0])""#))
        #expect(part("b").contains("HTTP/1.1 404"))
        #expect(part("c").contains("HTTP/1.1 200 OK") && part("c").contains(#""id":"\#(ids[1])""#))
        let logged = try await fakes.control("GET", "/control/requests?service=gmail")["requests"]?.arrayValue ?? []
        #expect(logged.filter { $0["path"]?.stringValue?.contains("/messages/") == true }.count == 3)
        #expect(!logged.contains { $0["path"]?.stringValue == "/batch/gmail/v1" })

        // Without the outer token every call is refused; more than 100 calls, or no boundary, is a 400.
        let anonymous = try await fakes.send("POST", batch, body: Array(body.utf8), headers: multipart)
        #expect(String(decoding: anonymous.body, as: UTF8.self).components(separatedBy: "HTTP/1.1 401").count == 4)
        let tooMany =
            (0...100).map { _ in "--b_1\nContent-Type: application/http\n\nGET /gmail/v1/users/me/profile\n\n" }.joined() + "--b_1--\n"
        #expect(try await fakes.send("POST", batch, token: token, body: Array(tooMany.utf8), headers: multipart).status == 400)
        #expect(
            try await fakes.send("POST", batch, token: token, body: Array(body.utf8), headers: [("Content-Type", "text/plain")]).status
                == 400)
        await fakes.stop()
    }

    @Test func sendAndDraftDecodeRawKeepThreadAndBumpHistory() async throws {
        let fakes = try await Fakes.start()
        let token = try await fakes.token("google")
        let base = fakes.urls.gmail + "/gmail/v1/users/me"
        let before = try await fakes.get(base + "/profile", token: token).json["historyId"]?.stringValue ?? ""
        let incoming = try await fakes.control(
            "POST", "/control/gmail/alice@acme.test/messages",
            .object([("from", "dave@initech.example"), ("to", ["alice@acme.test"]), ("subject", "Budget"), ("body", "Can you confirm?")]))
        let threadId = try #require(incoming["threadId"]?.stringValue)
        let parent = try await fakes.get(base + "/messages/\(incoming["id"]!.stringValue!)?format=metadata", token: token).json
        let parentMessageID = try #require(
            parent["payload"]?["headers"]?.arrayValue?.first { $0["name"]?.stringValue == "Message-ID" }?["value"]?.stringValue)
        let raw =
            "From: alice@acme.test\r\nTo: dave@initech.example\r\nSubject: =?UTF-8?B?UmU6IEJ1ZGdldCDinJQ=?=\r\nIn-Reply-To: \(parentMessageID)\r\nReferences: \(parentMessageID)\r\nAuto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nConfirmed =E2=80=94 thanks!\r\n"
        let sent = try await fakes.send(
            "POST", base + "/messages/send", token: token,
            json: .object([("raw", .string(Base64.urlEncodeUnpadded(Array(raw.utf8)))), ("threadId", .string(threadId))]))
        #expect(sent.status == 200)
        #expect(sent.json["threadId"]?.stringValue == threadId)
        #expect(sent.json["labelIds"] == ["SENT"])

        let outbox = try await fakes.control("GET", "/control/gmail/alice@acme.test/sent")["messages"]?.arrayValue ?? []
        let mine = try #require(outbox.last)
        #expect(mine["headers"]?["Subject"]?.stringValue == "Re: Budget ✔")
        #expect(mine["headers"]?["In-Reply-To"]?.stringValue == parentMessageID)
        #expect(mine["headers"]?["Auto-Submitted"]?.stringValue == "auto-replied")
        #expect(mine["body"]?.stringValue?.hasPrefix("Confirmed — thanks!") == true)

        let draft = try await fakes.send(
            "POST", base + "/drafts", token: token,
            json: .object([
                ("message", .object([("raw", .string(Base64.urlEncode(Array("To: x@y.example\r\nSubject: Hi\r\n\r\nDraft body".utf8))))]))
            ]))
        #expect(draft.status == 200)
        #expect(draft.json["message"]?["labelIds"] == ["DRAFT"])
        #expect(draft.json["id"]?.stringValue?.hasPrefix("r") == true)
        let drafts = try await fakes.control("GET", "/control/gmail/alice@acme.test/drafts")["drafts"]?.arrayValue ?? []
        #expect(drafts.count == 1)

        let history = try await fakes.get(
            base + "/history" + query([("startHistoryId", before), ("historyTypes", "messageAdded")]), token: token
        ).json
        let addedLabels = (history["history"]?.arrayValue ?? []).compactMap {
            $0["messagesAdded"]?.arrayValue?.first?["message"]?["labelIds"]?.stringArray
        }
        #expect(addedLabels.contains(["SENT"]) && addedLabels.contains(["DRAFT"]))

        let requests = try await fakes.control("GET", "/control/requests?service=gmail")["requests"]?.arrayValue ?? []
        #expect(requests.filter { $0["path"]?.stringValue?.hasSuffix("/messages/send") == true }.count == 1)
        #expect(requests.allSatisfy { $0["has_authorization"] == true })
        await fakes.stop()
    }

    @Test func scopesAndDelegationAreChecked() async throws {
        let fakes = try await Fakes.start()
        let metadataOnly = try await fakes.token("google", scopes: ["https://www.googleapis.com/auth/gmail.metadata"])
        let base = fakes.urls.gmail + "/gmail/v1/users/me"
        #expect(try await fakes.get(base + "/messages?q=budget", token: metadataOnly).status == 403)
        let list = try await fakes.get(base + "/messages?maxResults=1", token: metadataOnly).json
        let id = try #require(list["messages"]?.arrayValue?.first?["id"]?.stringValue)
        #expect(try await fakes.get(base + "/messages/\(id)?format=full", token: metadataOnly).status == 403)
        #expect(try await fakes.get(base + "/messages/\(id)?format=metadata", token: metadataOnly).status == 200)
        let sendOnly = try await fakes.token("google", scopes: ["https://www.googleapis.com/auth/gmail.send"])
        let refused = try await fakes.get(base + "/messages", token: sendOnly)
        #expect(refused.status == 403)
        #expect(refused.json["error"]?["errors"]?.arrayValue?.first?["reason"]?.stringValue == "insufficientPermissions")
        let token = try await fakes.token("google")
        #expect(try await fakes.get(fakes.urls.gmail + "/gmail/v1/users/bob@acme.test/profile", token: token).status == 403)
        await fakes.stop()
    }
}
