import Contracts

/// The signals a message shows and the rules that class it.
struct MessageRules {
    let item: ClassifiableItem
    let directory: Directory
    let sender: String
    let lowerTitle: [UInt8]
    /// The body without quoted lines (`> ...`) and without what follows a reply header.
    let ownText: [UInt8]
    /// Header names and values, lowered.
    let headers: [String: String]

    init(item: ClassifiableItem, directory: Directory) {
        self.item = item
        self.directory = directory
        sender = Self.address(item.from)
        lowerTitle = Bytes.lowered(Array(item.title.utf8))
        let body = Array(item.body.utf8)
        var own: [UInt8] = []
        own.reserveCapacity(body.count)
        var lineStart = 0
        while lineStart < body.count {
            var lineEnd = lineStart
            while lineEnd < body.count && body[lineEnd] != 10 { lineEnd += 1 }
            var first = lineStart
            while first < lineEnd && body[first] == 32 { first += 1 }
            if first == lineEnd || body[first] != 62 {
                let line = Bytes.lowered(Array(body[first..<lineEnd]))
                if Self.isReplyHeader(line) { break }
                own += line
                own.append(10)
            }
            lineStart = lineEnd + 1
        }
        ownText = own
        headers = Dictionary(item.headers.map { ($0.key.lowercased(), $0.value.lowercased()) }) { first, _ in first }
    }

    static let replyHeaders: [(start: [UInt8], end: [UInt8])] = [
        ("on ", "wrote:"), ("am ", "schrieb:"), ("le ", "a écrit :"), ("le ", "a écrit:"), ("el ", "escribió:"), ("op ", "schreef:"),
        ("em ", "escreveu:"), ("il ", "ha scritto:"), ("-----original message", ""), ("-----ursprüngliche nachricht", ""),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    /// "On Tuesday, Marcus wrote:" and its kin: what follows is the quoted thread.
    static func isReplyHeader(_ line: [UInt8]) -> Bool {
        var end = line.count
        while end > 0 && (line[end - 1] == 32 || line[end - 1] == 13) { end -= 1 }
        return replyHeaders.contains { header in
            Bytes.has(header.start, at: 0, in: line) && end >= header.end.count
                && Bytes.has(header.end, at: end - header.end.count, in: line)
        }
    }

    /// The address in `Name <address>`, lowered.
    static func address(_ field: String) -> String {
        if let open = field.lastIndex(of: "<"), let close = field.lastIndex(of: ">"), open < close {
            return String(field[field.index(after: open)..<close]).lowercased()
        }
        return field.trimmingCharacters(in: [" "]).lowercased()
    }

    var senderDomain: String { String(sender.split(separator: "@").last ?? "") }
    var isInternal: Bool { directory.internalDomains.contains { senderDomain == $0 || senderDomain.hasSuffix("." + $0) } }
    var isVIP: Bool { directory.vips.contains(sender) }
    var userInTo: Bool { item.to.contains { Self.address($0) == directory.userEmail } }
    var userInCc: Bool { item.cc.contains { Self.address($0) == directory.userEmail } }
    var fromUser: Bool { sender == directory.userEmail }

    static let noReplyParts = [
        "noreply", "no-reply", "donotreply", "do-not-reply", "notifications", "notification", "naoresponder",
        "nao-responder", "ne-pas-repondre", "nepasrepondre", "mailer-daemon", "postmaster", "bounce", "alerts", "alert", "monitor",
    ]

    var isAutomated: Bool {
        if let value = headers["auto-submitted"], value != "no" { return true }
        if let precedence = headers["precedence"], ["bulk", "list", "junk"].contains(precedence) { return true }
        if headers["list-unsubscribe"] != nil || headers["list-id"] != nil || headers["x-autoreply"] != nil { return true }
        if headers.keys.contains(where: { $0.hasPrefix("x-github") || $0.hasPrefix("x-jira") || $0.hasPrefix("x-pagerduty") }) {
            return true
        }
        let local = sender.split(separator: "@").first.map(String.init) ?? ""
        return Self.noReplyParts.contains { local.contains($0) }
    }

    var isBulkMarketing: Bool { headers["list-unsubscribe"] != nil }

    func mentions(_ words: Needles) -> Bool {
        words.occurs(in: ownText) || words.occurs(in: lowerTitle)
    }

    static let incidentWords = Needles([
        "outage", "incident", "sev1", "sev-1", "sev 1", "[p1]", "p1 ", "p1:", "is down", "are down", "went down", "breach",
        "compromised", "security alert", "leaked", "data leak", "production down", "prod down", "störung", "ausfall",
        "sicherheitsvorfall", "panne", "incidente", "caída", "storing", "interruzione", "violación", "fuite de données",
        "datenleck", "critical alert", "alerte critique", "kritisch", "crítico", "critico", "kritiek", "escalation", "escalada",
        "eskalation", "escalade", "escalation:", "fraud", "fraude", "betrug", "frode",
    ])
    static let urgentWords = Needles([
        "urgent", "asap", "immediately", "right away", "today", "tonight", "this morning", "this afternoon", "within the hour",
        "within an hour", "end of day", "by eod", "eod", "dringend", "sofort", "heute", "umgehend", "aujourd'hui", "immédiatement",
        "ce soir", "urgente", "hoy", "inmediato", "cuanto antes", "esta tarde", "vandaag", "direct", "spoed", "hoje",
        "imediatamente", "o mais rápido", "oggi", "subito", "immediatamente", "entro stasera", "stasera", "urgência",
    ])
    static let requestWords = Needles([
        "could you", "can you", "would you", "will you", "please", "let me know", "do you", "are you", "could we", "can we",
        "your thoughts", "your input", "need your", "need you", "approve", "sign off", "review", "confirm", "kannst du", "könntest du",
        "können sie", "könnten sie", "bitte", "hast du", "bist du", "pourrais-tu", "pourriez-vous", "peux-tu", "pouvez-vous",
        "merci de", "est-ce que", "s'il te plaît", "s'il vous plaît", "podrías", "puedes", "podría", "por favor", "me confirmas",
        "kun je", "kunt u", "zou je", "graag", "wil je", "podes", "poderia", "pode ", "consegues", "puoi", "potresti",
        "può ", "potrebbe", "per favore", "mi confermi", "fammi sapere", "laat me weten", "dime", "avísame", "lass mich wissen",
        "dis-moi", "tiens-moi", "diz-me", "me avise",
    ])

    static let pageWords = Needles(["sev", "p1", "page", "down"])

    var asks: Bool {
        if ownText.contains(UInt8(ascii: "?")) || lowerTitle.contains(UInt8(ascii: "?")) { return true }
        return mentions(Self.requestWords)
    }

    var addressedByName: Bool {
        let first = directory.userName.split(separator: " ").first.map { $0.lowercased() } ?? ""
        guard !first.isEmpty else { return false }
        let opening = ownText.prefix(120)
        return Bytes.contains(Array(first.utf8), in: Array(opening))
    }

    func decide() -> ClassDecision {
        let incident = mentions(Self.incidentWords)
        let urgent = mentions(Self.urgentWords)
        if fromUser { return ClassDecision(messageClass: .informational, confidence: 0.9, reasons: ["sent by the user"]) }
        if isAutomated {
            if isBulkMarketing && !isInternal {
                return ClassDecision(messageClass: .noise, confidence: 0.9, reasons: ["bulk mail with an unsubscribe link"])
            }
            if incident && (userInTo || userInCc) && (urgent || isInternal || mentions(Self.pageWords)) {
                return ClassDecision(messageClass: .critical, confidence: 0.7, reasons: ["an automated incident alert to the user"])
            }
            if isBulkMarketing {
                return ClassDecision(messageClass: .noise, confidence: 0.6, reasons: ["bulk mail with an unsubscribe link"])
            }
            return ClassDecision(messageClass: .informational, confidence: 0.8, reasons: ["an automated notification"])
        }
        if incident && (userInTo || userInCc) && (urgent || isVIP || isInternal) {
            return ClassDecision(messageClass: .critical, confidence: 0.75, reasons: ["an incident the user is asked into"])
        }
        if userInTo && isVIP && urgent && asks {
            return ClassDecision(messageClass: .critical, confidence: 0.8, reasons: ["a VIP asks for something urgent"])
        }
        if userInTo && asks {
            return ClassDecision(
                messageClass: .needsResponse, confidence: isVIP || addressedByName ? 0.85 : 0.7, reasons: ["asks the user"])
        }
        if userInCc && addressedByName && asks || item.userRepliedInThread && asks && (userInTo || userInCc) && addressedByName {
            return ClassDecision(messageClass: .needsResponse, confidence: 0.6, reasons: ["asks the user by name"])
        }
        return ClassDecision(messageClass: .informational, confidence: userInCc ? 0.8 : 0.6, reasons: ["nothing asked of the user"])
    }
}
