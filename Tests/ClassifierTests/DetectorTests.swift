import Classifier
import Contracts
import Foundation
import Testing

@Suite struct DetectorTests {
    let classifier = Classifier()

    func level(_ body: String, title: String = "Notes", source: ClassifiableItem.Source = .gmail) -> LevelDecision {
        classifier.level(of: ClassifiableItem(source: source, title: title, body: body))
    }

    @Test func cardNumbersMustPassLuhnAndLookLikeACard() {
        #expect(level("Card on file: 4000-0566-5566-5556, exp 04/29").level == .restricted)
        #expect(level("Amex 3782 822463 10005 for the hotel").findings.map(\.detector) == [.paymentCard])
        #expect(level("Order number 4000 0566 5566 5557 has shipped").level == .internal, "fails Luhn")
        #expect(level("Tracking 9400111899223856104023").level == .internal, "22 digits, no card")
    }

    @Test func ibansMustPassMod97() {
        #expect(level("Please pay to IBAN FR76 3000 6000 0112 3456 7890 189.").level == .confidential)
        #expect(level("IBAN FR76 3000 6000 0112 3456 7890 188").level == .internal)
        // The account's digits are not read as a card number.
        #expect(level("GB33BUKB20201555555555").findings.map(\.detector) == [.iban])
    }

    @Test func credentialsRaiseToRestrictedButPlaceholdersDoNot() {
        #expect(level("export AWS_ACCESS_KEY_ID=AKIAJQ7R2M5X9KD3LW8P").level == .restricted)
        #expect(level("export AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX").level == .internal)
        #expect(level("curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8' https://api").level == .restricted)
        #expect(level("curl -H 'Authorization: Bearer <your-token>' https://api").level == .internal)
        #expect(level("token ghp_4fT9kQ2mN7xR1vB8cL3zW6yH0pJ5sD2gA9eK in the CI logs").level == .restricted)
        #expect(level("db password: Tr0ub4dor&3x").level == .restricted)
        #expect(level("db password: changeme").level == .internal)
        #expect(level("password = var.db_password").level == .internal)
        let key =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----"
        #expect(level(key).level == .restricted)
        #expect(level("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----").level == .internal)
    }

    @Test func nationalIdentifiersNeedTheirLabelAndCheckDigits() {
        #expect(level("Employee SSN: 536-90-4399 for the payroll form").level == .restricted)
        #expect(level("Call me on 536-90-4399").level == .internal)
        #expect(level("BSN: 111222333").level == .restricted)
        #expect(level("BSN: 111222334").level == .internal)
        #expect(level("DNI 12345678Z").level == .restricted)
        #expect(level("DNI 12345678A").level == .internal)
    }

    @Test func markingsAreLabelsNotWordsInASentence() {
        #expect(level("Figures attached.", title: "[CONFIDENTIAL] Q4 forecast").level == .confidential)
        #expect(level("Confidential – do not forward\n\nFigures attached.").level == .confidential)
        #expect(level("Classification: Restricted\n\nThe plan.").level == .restricted)
        #expect(level("Privileged & Confidential\nAttorney work product.").level == .restricted)
        #expect(level("Thanks for sharing, I'll keep your feedback confidential.").level == .internal)
        #expect(level("Access is restricted to VPN users.").level == .internal)
        #expect(level("Why restricted API scopes matter", title: "Why restricted API scopes matter").level == .internal)
        let footer = "See you then.\n\nThis e-mail is confidential and intended solely for the addressee."
        #expect(level(footer).level == .confidential)
    }

    @Test func levelsOnlyRiseFromTheConnectorsDefault() {
        #expect(level("README", source: .github(repoPrivate: false)).level == .public)
        #expect(level("README", source: .github(repoPrivate: true)).level == .internal)
        #expect(level("Agenda", source: .drive(sharedPublicly: true, labels: [])).level == .public)
        #expect(level("Agenda", source: .drive(sharedPublicly: true, labels: ["Confidential"])).level == .confidential)
        #expect(level("Pen test", source: .jira(securityLevel: "Restricted")).level == .restricted)
        #expect(level("Card 4111 1111 1111 1111", source: .jira(securityLevel: "Internal Confidential")).level == .restricted)
    }

    /// Whatever the text (fragments of the patterns the detectors look for, cut anywhere, mixed
    /// with multi-byte characters), classifying it neither crashes nor lowers the default.
    @Test func anyTextIsClassifiedWithoutFailing() {
        let pieces = [
            "AKIA", "-----BEGIN RSA PRIVATE KEY-----", "ghp_", "Bearer ", "password:", "=", "4111 1111", "1111-1111", "DE89",
            " 3704 ", "SSN ", "123-45-", "BSN", "DNI", "[", "CONFIDENTIAL", "confidential", "restricted", "Classification:", "–", "é",
            "\u{1F600}", "\n", ">", "On Monday Marcus wrote:", "?", " ", "0", "9", "Z", "\0",
        ]
        var rng = SystemRandomNumberGenerator()
        let directory = Directory(userEmail: "dana@acme.example", userName: "Dana", internalDomains: ["acme.example"], vips: [])
        for _ in 0..<3_000 {
            let text = (0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let item = ClassifiableItem(
                source: .github(repoPrivate: false), title: String(text.prefix(20)), body: text, from: text, to: [text], cc: [],
                headers: [text: text])
            #expect(classifier.level(of: item).level >= .public)
            _ = classifier.messageClass(of: item, directory: directory)
        }
    }

    /// A finding says which detector and where; what it matched appears nowhere in it.
    @Test func findingsNeverCarryTheSecret() throws {
        let secret = "AKIAJQ7R2M5X9KD3LW8P"
        let decision = level("key \(secret) and card 4111 1111 1111 1111")
        #expect(decision.findings.count == 2)
        let encoded = String(decoding: try JSONEncoder().encode(decision.findings), as: UTF8.self)
        #expect(!encoded.contains(secret) && !encoded.contains("4111"))
        #expect(decision.findings.map(\.offset) == [4, 34])
    }
}

@Suite struct MessageClassTests {
    let classifier = Classifier()
    let directory = Directory(
        userEmail: "dana@acme.example", userName: "Dana Whitfield", internalDomains: ["acme.example"], vips: ["ceo@acme.example"])

    func messageClass(
        from: String, to: [String] = ["dana@acme.example"], cc: [String] = [], headers: [String: String] = [:], subject: String,
        body: String
    ) -> MessageClass {
        classifier.messageClass(
            of: ClassifiableItem(source: .gmail, title: subject, body: body, from: from, to: to, cc: cc, headers: headers),
            directory: directory
        ).messageClass
    }

    @Test func automatedMailIsNoiseOrInformationalUnlessItIsAnIncident() {
        #expect(
            messageClass(
                from: "Deals <news@shop.example>", headers: ["List-Unsubscribe": "<mailto:u@shop.example>"], subject: "Want 20% off?",
                body: "Save now!") == .noise)
        #expect(
            messageClass(
                from: "Jira <jira@acme.example>", headers: ["Auto-Submitted": "auto-generated"], subject: "[JIRA] PAY-1 assigned to you",
                body: "Can you look?") == .informational)
        #expect(
            messageClass(
                from: "PagerDuty <alerts@acme.example>", headers: ["Auto-Submitted": "auto-generated"],
                subject: "[SEV1] payments-api is down", body: "Acknowledge the incident now.") == .critical)
    }

    @Test func peopleAskingTheUserNeedAResponse() {
        #expect(
            messageClass(from: "Marcus <marcus@acme.example>", subject: "Design review", body: "Dana, could you review the doc by Friday?")
                == .needsResponse)
        #expect(
            messageClass(
                from: "Marcus <marcus@acme.example>", to: ["aisha@acme.example"], cc: ["dana@acme.example"], subject: "Design review",
                body: "Aisha, could you review the doc by Friday?") == .informational)
        #expect(
            messageClass(from: "CEO <ceo@acme.example>", subject: "Board deck", body: "Dana, I need the numbers today, can you send them?")
                == .critical)
        #expect(messageClass(from: "Marcus <marcus@acme.example>", subject: "FYI", body: "Release notes attached.") == .informational)
    }
}
