import Foundation
import Testing

@testable import FakeProviders

/// Drive: start page token, changes with `removed` and trashed files, `newStartPageToken` only at
/// the end, `fields` masks and default subsets, export and download.
@Suite struct DriveChangesTests {
    @Test func changesReportTrashAndRemoval() async throws {
        let fakes = try await Fakes.start()
        let token = try await fakes.token("google")
        let drive = fakes.urls.drive + "/drive/v3"
        let start = try await fakes.get(drive + "/changes/startPageToken", token: token).json
        #expect(start["kind"] == "drive#startPageToken")
        let startToken = try #require(start["startPageToken"]?.stringValue)

        let created = try await fakes.control(
            "POST", "/control/drive/alice@acme.test/files",
            .object([("name", "Runbook"), ("mimeType", "application/vnd.google-apps.document"), ("text", "Step 1")]))
        let createdId = try #require(created["id"]?.stringValue)
        let binary = try await fakes.control(
            "POST", "/control/drive/alice@acme.test/files", .object([("name", "notes.txt"), ("mimeType", "text/plain"), ("text", "hello")]))
        let binaryId = try #require(binary["id"]?.stringValue)
        let victim = try await fakes.control(
            "POST", "/control/drive/alice@acme.test/files",
            .object([("name", "Old"), ("mimeType", "application/vnd.google-apps.spreadsheet")]))
        let victimId = try #require(victim["id"]?.stringValue)
        try await fakes.control("PATCH", "/control/drive/alice@acme.test/files/\(binaryId)", .object([("trashed", true)]))
        try await fakes.control("DELETE", "/control/drive/alice@acme.test/files/\(victimId)")
        try await fakes.control("PATCH", "/control/drive/alice@acme.test/files/\(createdId)", .object([("text", "Step 1\nStep 2")]))

        let fields =
            "nextPageToken,newStartPageToken,changes(fileId,removed,time,changeType,file(id,name,mimeType,version,md5Checksum,size,trashed))"
        var changes: [JSON] = []
        var pageToken = startToken
        var newStart: String?
        while newStart == nil {
            let page = try await fakes.get(
                drive + "/changes" + query([("pageToken", pageToken), ("pageSize", "1"), ("fields", fields)]), token: token)
            #expect(page.status == 200, "\(page.text)")
            changes += page.json["changes"]?.arrayValue ?? []
            #expect((page.json["nextPageToken"] == nil) != (page.json["newStartPageToken"] == nil))
            newStart = page.json["newStartPageToken"]?.stringValue
            pageToken = page.json["nextPageToken"]?.stringValue ?? pageToken
        }
        #expect(changes.count == 3, "one change per file, the latest")
        let removed = try #require(changes.first { $0["fileId"]?.stringValue == victimId })
        #expect(removed["removed"] == true && removed["file"] == nil)
        let trashed = try #require(changes.first { $0["fileId"]?.stringValue == binaryId })
        #expect(trashed["removed"] == false && trashed["file"]?["trashed"] == true)
        #expect(trashed["file"]?["md5Checksum"]?.stringValue == "5d41402abc4b2a76b9719d911017c592")
        #expect(trashed["file"]?["size"] == "5", "int64 as a string")
        let doc = try #require(changes.first { $0["fileId"]?.stringValue == createdId })
        #expect(doc["file"]?["md5Checksum"] == nil && doc["file"]?["size"] == nil, "no checksum or size for Docs")
        #expect(doc["file"]?["version"] == "2")

        let quiet = try await fakes.get(drive + "/changes" + query([("pageToken", newStart!)]), token: token).json
        #expect(quiet["changes"]?.arrayValue?.isEmpty == true && quiet["newStartPageToken"] != nil)
        #expect(quiet["changes"]?.arrayValue != nil)

        let defaults = try await fakes.get(drive + "/files/\(createdId)", token: token).json
        #expect(defaults.objectValue?.map(\.0) == ["kind", "id", "name", "mimeType"])
        let export = try await fakes.get(drive + "/files/\(createdId)/export?mimeType=text/plain", token: token)
        #expect(export.status == 200 && export.text.contains("Step 2"))
        #expect(try await fakes.get(drive + "/files/\(createdId)?alt=media", token: token).status == 403)
        #expect(try await fakes.get(drive + "/files/\(binaryId)/export?mimeType=text/plain", token: token).status == 403)
        #expect(try await fakes.get(drive + "/files/\(binaryId)?alt=media", token: token).text == "hello")
        let missing = try await fakes.get(drive + "/files/\(victimId)", token: token)
        #expect(missing.status == 404 && missing.json["error"]?["message"]?.stringValue == "File not found: \(victimId).")
        #expect(try await fakes.get(drive + "/files?fields=files(nonsense)", token: token).status == 400)
        let metadataOnly = try await fakes.token("google", scopes: ["https://www.googleapis.com/auth/drive.metadata.readonly"])
        #expect(try await fakes.get(drive + "/files/\(createdId)/export?mimeType=text/plain", token: metadataOnly).status == 403)
        await fakes.stop()
    }
}
