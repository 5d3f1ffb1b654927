import Contracts

/// Explicit markings: a label on the item ("[CONFIDENTIAL]", "Classification: Restricted", a
/// banner line, a legal-disclaimer footer), not the same words used in a sentence.
enum Markings {
    static let restricted: [[UInt8]] =
        ([
            "strictly confidential", "attorney-client privileged", "attorney client privileged", "privileged & confidential",
            "privileged and confidential", "streng vertraulich", "strictement confidentiel", "strictement confidentielle",
            "estrictamente confidencial", "strikt vertrouwelijk", "strettamente riservato", "strettamente confidenziale",
            "estritamente confidencial", "restricted", "eingeschränkt", "restreint", "restringido", "beperkt", "riservatissimo",
        ] as [String]).map { Array($0.utf8) }

    static let confidential: [[UInt8]] =
        ([
            "confidential", "vertraulich", "confidentiel", "confidentielle", "confidencial", "riservato", "riservata", "confidenziale",
            "vertrouwelijk",
        ] as [String]).map { Array($0.utf8) }

    /// Inflected forms that mark an item only inside a legal disclaimer ("Ce message et ses
    /// pièces jointes sont confidentiels et destinés exclusivement à ...").
    static let disclaimerForms: [[UInt8]] =
        ([
            "confidentiels", "confidentielles", "confidenciales", "confidenciais", "vertrauliche", "vertraulichen", "riservate",
            "riservati", "vertrouwelijke", "confidenziali",
        ] as [String]).map { Array($0.utf8) }

    /// All phrases in one set: restricted ones, then confidential ones, then disclaimer forms.
    static let phrases = Needles(restricted + confidential + disclaimerForms)

    /// Words that introduce a level: `Classification: Restricted`.
    static let levelLabels: [[UInt8]] =
        ([
            "classification", "klassifizierung", "einstufung", "classificação", "classificazione", "clasificación", "classificatie",
            "marking", "label", "sensitivity", "security level", "niveau", "nivel", "vertraulichkeit",
        ] as [String]).map { Array($0.utf8) }

    /// Words of a legal disclaimer around "confidential".
    static let disclaimerWords: [[UInt8]] =
        ([
            "intended solely", "intended only", "addressee", "intended recipient", "if you have received", "unauthorised", "unauthorized",
            "destinataire", "si vous avez reçu", "empfänger", "irrtümlich", "destinatario", "si ha recibido", "destinatário",
            "se recebeu", "geadresseerde", "bestemd voor", "destinatari", "se avete ricevuto", "se ha ricevuto", "addressed", "adressat",
            "exclusivement", "ausschließlich", "exclusivamente", "esclusivamente", "uitsluitend",
        ] as [String]).map { Array($0.utf8) }

    static let disclaimerNeedles = Needles(disclaimerWords)

    static func scan(_ text: [UInt8], _ lower: [UInt8], isTitle: Bool) -> [Detectors.Hit] {
        var hits: [Detectors.Hit] = []
        var covered: [Range<Int>] = []
        // Restricted phrases first: "strictly confidential" is not also a "confidential".
        let found = phrases.matches(in: lower).sorted {
            ($0.needle < restricted.count ? 0 : 1, $0.offset) < ($1.needle < restricted.count ? 0 : 1, $1.offset)
        }
        for (needle, start) in found {
            let end = start + phrases.needles[needle].count
            guard Bytes.isWholeWord(lower, start, end), !covered.contains(where: { $0.overlaps(start..<end) }) else { continue }
            let marked: Bool
            let level: Classification = needle < restricted.count ? .restricted : .confidential
            if needle >= restricted.count + confidential.count {
                marked = !isTitle && disclaimer(lower, start, end)
            } else if isTitle {
                marked = titleLabel(text, lower, start, end)
            } else {
                marked = bodyLabel(text, lower, start, end, allowDisclaimer: level == .confidential)
            }
            if marked {
                hits.append((.marking, start, level))
                covered.append(start..<end)
            }
        }
        return hits
    }

    static func disclaimer(_ lower: [UInt8], _ start: Int, _ end: Int) -> Bool {
        let window = Array(lower[max(0, start - 240)..<min(lower.count, end + 240)])
        return disclaimerNeedles.occurs(in: window)
    }

    static func isUppercase(_ text: [UInt8], _ start: Int, _ end: Int) -> Bool {
        let letters = text[start..<end].filter { Bytes.isLetter($0) }
        return letters.count >= 4 && letters.allSatisfy(Bytes.isUpper)
    }

    static let closers: Set<UInt8> = Set(":-|])/.,;".utf8)

    /// What follows the phrase ends a label: the end, punctuation, or a dash.
    static func labelEnds(_ text: [UInt8], at end: Int, lineEnd: Int) -> Bool {
        var index = end
        while index < lineEnd && text[index] == 32 { index += 1 }
        if index >= lineEnd { return true }
        if closers.contains(text[index]) { return true }
        // En and em dashes (E2 80 93 / 94).
        return text[index] == 0xE2 && index + 2 < lineEnd && text[index + 1] == 0x80 && (text[index + 2] == 0x93 || text[index + 2] == 0x94)
    }

    /// Only decoration, a reply prefix or a level label before the phrase.
    static func labelStarts(_ lower: [UInt8], from lineStart: Int, to start: Int) -> Bool {
        var prefix = Array(lower[lineStart..<start])
        for lead in ["re:", "fwd:", "fw:", "aw:", "wg:", "tr:", "rv:", "res:", "r:", "i:"].map({ Array($0.utf8) }) {
            while let first = prefix.firstIndex(where: { $0 != 32 }), Bytes.has(lead, at: first, in: prefix) {
                prefix.removeSubrange(0..<first + lead.count)
            }
        }
        // A line that states a level ("Classification: Internal only - Confidential").
        for label in levelLabels {
            if let at = Bytes.occurrences(of: label, in: prefix).first,
                prefix[..<at].allSatisfy({ [32, 9, 91, 40, 42, 35, 45, 95, 62, 124].contains($0) }),
                prefix[(at + label.count)...].prefix(3).contains(58)
            {
                return true
            }
        }
        for scope in ["internal only", "internal use only", "nur intern", "usage interne", "uso interno", "alleen intern"] {
            let bytes = Array(scope.utf8)
            if let at = Bytes.occurrences(of: bytes, in: prefix).first {
                prefix.removeSubrange(at..<at + bytes.count)
            }
        }
        return prefix.allSatisfy { [32, 9, 91, 40, 42, 35, 45, 95, 62, 124, 0xE2, 0x80, 0x93, 0x94].contains($0) }
    }

    static func titleLabel(_ text: [UInt8], _ lower: [UInt8], _ start: Int, _ end: Int) -> Bool {
        if isUppercase(text, start, end) { return true }
        if start > 0 && (text[start - 1] == 91 || text[start - 1] == 40) { return true }
        if labelStarts(lower, from: 0, to: start) && labelEnds(text, at: end, lineEnd: text.count) { return true }
        // "Quarterly numbers - Confidential"
        var before = start
        while before > 0 && text[before - 1] == 32 { before -= 1 }
        let trailing = end == text.count || text[end...].allSatisfy { $0 == 32 || $0 == 41 || $0 == 93 }
        return trailing && before > 0 && [45, 124, 58].contains(text[before - 1])
    }

    static func bodyLabel(_ text: [UInt8], _ lower: [UInt8], _ start: Int, _ end: Int, allowDisclaimer: Bool) -> Bool {
        let line = Bytes.line(around: start, in: text)
        if isUppercase(text, start, end) { return true }
        if labelStarts(lower, from: line.lowerBound, to: start) && labelEnds(text, at: end, lineEnd: line.upperBound) { return true }
        if start > line.lowerBound && (text[start - 1] == 91 || text[start - 1] == 40) && end < line.upperBound
            && (text[end] == 93 || text[end] == 41)
        {
            return true
        }
        return allowDisclaimer && disclaimer(lower, start, end)
    }
}
