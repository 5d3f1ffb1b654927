/// Makes a user's Drive from the seed: folders, Google Docs with text to export (meeting notes,
/// specs), Sheets (CSV), Slides, PDFs and other binaries with checksums, a few shared publicly,
/// one in the trash.
enum DriveGenerator {
    static let docTitles = [
        "Meeting notes – {project}", "{project} – technical spec", "Onboarding checklist", "Q3 OKRs", "Incident review: checkout latency",
        "Besprechungsnotizen {project}", "Compte rendu – {project}", "Notas de la reunión – {project}", "{project} 議事録",
    ]
    static let docBodies = [
        "Attendees: {people}\n\nDecisions:\n- Ship {project} behind a feature flag.\n- Review {ticket} next sprint.\n\nAction items:\n- {first}: update the rollout plan by Friday.",
        "Goal: {project}.\n\nScope:\n1. API changes\n2. Data migration\n3. Rollout\n\nRisks: load on the search cluster; see {ticket}.",
        "Zusammenfassung: {project} läuft nach Plan. Offene Punkte: {ticket}, Budgetfreigabe.",
        "Résumé : {project} avance comme prévu. Points ouverts : {ticket}.",
    ]

    static func store(for owner: Person, directory: Directory, count: Int, now: Int64, seed: UInt64) -> DriveStore {
        let store = DriveStore(owner: owner, directory: directory, seed: seed)
        var random = SeededGenerator(seed: seed, purpose: "drive:" + owner.email)
        var files: [DriveFile] = []
        let root = "0AFakeRootFolderUk9PVA"
        func make(name: String, type: String, parent: String, text: String?, content: [UInt8]?, random: inout SeededGenerator) -> DriveFile
        {
            let created = now - Int64.random(in: 86_400_000...(200 * 86_400_000), using: &random)
            let modified = min(now - 60_000, created + Int64.random(in: 0...(60 * 86_400_000), using: &random))
            let modifier = random.chance(0.7) ? owner.email : random.pick(directory.colleagues).email
            var file = DriveFile(
                id: DriveStore.newId(&random), name: name, mimeType: type, parents: [parent], createdTime: created, modifiedTime: modified,
                version: Int64.random(in: 2...80, using: &random), trashed: false, sharedPublicly: random.chance(0.15),
                starred: random.chance(0.1),
                description: nil, text: text, content: content, revisions: [], owner: owner.email, lastModifier: modifier)
            let revisionCount = file.isFolder ? 0 : Int.random(in: 1...3, using: &random)
            for index in 0..<revisionCount {
                let time = created + (modified - created) * Int64(index + 1) / Int64(revisionCount)
                file.revisions.append(
                    DriveFile.Revision(
                        id: file.isNative ? String(index + 1) : "0B" + random.string(49, alphabet: OpaqueToken.alphanumerics), time: time,
                        md5: file.md5, size: content?.count, modifier: modifier))
            }
            return file
        }
        let folders = ["Projects", "Finance", "Design"].map {
            make(name: $0, type: DriveFile.folderType, parent: root, text: nil, content: nil, random: &random)
        }
        files += folders.prefix(max(0, min(3, count / 4)))
        while files.count < count {
            let fill = [
                "project": random.pick(MailCorpus.projects), "ticket": "PROJ-\(Int.random(in: 1...400, using: &random))",
                "first": owner.firstName, "people": directory.colleagues.prefix(3).map(\.name).joined(separator: ", "),
            ]
            let parent = folders.isEmpty || random.chance(0.4) ? root : random.pick(folders).id
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                files.append(
                    make(
                        name: MailboxGenerator.fill(random.pick(docTitles), fill), type: DriveFile.documentType, parent: parent,
                        text: MailboxGenerator.fill(random.pick(docBodies), fill), content: nil, random: &random))
            case 4..<6:
                var csv = "Item,Owner,Amount,Due\n"
                for row in 1...Int.random(in: 3...12, using: &random) {
                    csv +=
                        "Line \(row),\(random.pick(directory.colleagues).firstName),\(Int.random(in: 100...9000, using: &random)),2024-\(String(Int.random(in: 1...12, using: &random)).leftPadded(2))-15\n"
                }
                files.append(
                    make(
                        name: "Budget \(fill["project"]!)", type: DriveFile.spreadsheetType, parent: parent, text: csv, content: nil,
                        random: &random))
            case 6:
                files.append(
                    make(
                        name: "\(fill["project"]!) – kickoff deck", type: DriveFile.presentationType, parent: parent,
                        text: "Kickoff\n\nWhy \(fill["project"]!)\nTimeline\nTeam", content: nil, random: &random))
            default:
                let kind = random.pick(MailCorpus.attachments)
                let bytes = AttachmentContent.bytes(name: kind.name, type: kind.type, random: &random)
                files.append(make(name: kind.name, type: kind.type, parent: parent, text: nil, content: bytes, random: &random))
            }
        }
        if files.count > 3 { files[files.count - 1].trashed = true }
        store.load(files)
        return store
    }
}
