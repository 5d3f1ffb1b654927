import Contracts

/// The content detectors: each finds one kind of sensitive content in a field's bytes and says
/// where, never what.
enum Detectors {
    typealias Hit = (detector: Finding.Detector, offset: Int, raises: Classification)

    static func scan(_ text: [UInt8], isTitle: Bool) -> [Hit] {
        let lower = Bytes.lowered(text)
        var hits = credentials(text, lower)
        let ibanRanges = ibans(text)
        hits += ibanRanges.filter(\.valid).map { (.iban, $0.range.lowerBound, .confidential) }
        hits += cards(text, excluding: ibanRanges.map(\.range))
        hits += nationalIDs(text, lower)
        hits += Markings.scan(text, lower, isTitle: isTitle)
        return hits
    }

    // MARK: - Credentials

    /// A literal to look for and the least length of what follows it.
    struct Prefix {
        let bytes: [UInt8]
        let minimum: Int
        init(_ text: String, _ minimum: Int) {
            bytes = Array(text.utf8)
            self.minimum = minimum
        }
    }

    static let tokenPrefixes: [Prefix] = [
        Prefix("ghp_", 30), Prefix("gho_", 30), Prefix("ghs_", 30), Prefix("ghu_", 30), Prefix("ghr_", 30), Prefix("github_pat_", 40),
        Prefix("xoxb-", 16), Prefix("xoxp-", 16), Prefix("xoxa-", 16), Prefix("xoxs-", 16), Prefix("sk_live_", 16),
        Prefix("rk_live_", 16), Prefix("glpat-", 20), Prefix("AIza", 30),
    ]

    /// Assignment keys whose value is a secret: `api_key = ...`, `password: ...`.
    struct SecretKey {
        let key: [UInt8]
        let detector: Finding.Detector
        let minimum: Int
        init(_ key: String, _ detector: Finding.Detector, _ minimum: Int) {
            self.key = Array(key.utf8)
            self.detector = detector
            self.minimum = minimum
        }
    }

    static let secretKeys: [SecretKey] =
        (["api_key", "apikey", "api-key", "api key", "access_token", "auth_token", "access key"] as [String]).map {
            SecretKey($0, .apiToken, 12)
        } + [SecretKey("token", .apiToken, 16)]
        + (["client_secret", "secret_key", "secret_access_key", "aws_secret_access_key"] as [String]).map { SecretKey($0, .password, 8) }
        + ([
            "password", "passwd", "pwd", "passwort", "kennwort", "mot de passe", "contraseña", "wachtwoord", "senha",
            "parola d'ordine",
        ] as [String]).map { SecretKey($0, .password, 6) }

    /// Values that stand for a secret without being one (documentation, templates, masks).
    static let placeholderMarks: [[UInt8]] =
        ([
            "<", ">", "*", "xxx", "your", "changeme", "change_me", "example", "redacted", "placeholder", "dummy", "${", "{{", "…",
            "...", "environ", "getenv", "process.env", "secret_here", "dein", "votre", "tu_", "tu-", "jouw", "tuo", "sua_", "here",
            "****", "•", "$(", "%(", "vault:", "fake", "test123", "var.", "vars.", "secrets.", "env.", "settings.", "os.",
        ] as [String]).map { Array($0.utf8) }

    static func isPlaceholder(_ value: ArraySlice<UInt8>) -> Bool {
        let lower = Bytes.lowered(Array(value))
        if let first = lower.first, lower.allSatisfy({ $0 == first }) { return true }
        return placeholderMarks.contains { Bytes.contains($0, in: lower) }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool { Bytes.isAlnum(byte) || byte == 95 || byte == 45 }

    static let secretKeyNeedles = Needles(secretKeys.map(\.key))
    /// AWS key prefixes, the private-key banner, then the token prefixes, in this order.
    static let credentialLiterals = Needles(["AKIA", "ASIA", "PRIVATE KEY-----"].map { Array($0.utf8) } + tokenPrefixes.map(\.bytes))

    static func credentials(_ text: [UInt8], _ lower: [UInt8]) -> [Hit] {
        var hits: [Hit] = []
        let literals = credentialLiterals.matches(in: text)
        // AWS access key ids.
        for (needle, start) in literals where needle < 2 {
            do {
                let end = start + 20
                guard end <= text.count, start == 0 || !Bytes.isAlnum(text[start - 1]), end == text.count || !Bytes.isAlnum(text[end]),
                    text[start + 4..<end].allSatisfy({ Bytes.isUpper($0) || Bytes.isDigit($0) }), !isPlaceholder(text[start + 4..<end])
                else { continue }
                hits.append((.awsAccessKey, start, .restricted))
            }
        }
        // Private key blocks with key material under them.
        for (needle, marker) in literals where needle == 2 {
            let line = Bytes.line(around: marker, in: text)
            guard let begin = Bytes.occurrences(of: Array("-----BEGIN".utf8), in: Array(text[line])).first else { continue }
            var run = 0
            var longest = 0
            for byte in text[line.upperBound..<min(text.count, line.upperBound + 400)] {
                if Bytes.isAlnum(byte) || byte == 43 || byte == 47 || byte == 61 {
                    run += 1
                    longest = max(longest, run)
                } else if byte != 10 && byte != 13 {
                    run = 0
                }
            }
            if longest >= 40 { hits.append((.privateKey, line.lowerBound + begin, .restricted)) }
        }
        // Provider tokens by their prefixes.
        for (needle, start) in literals where needle >= 3 && (start == 0 || !isTokenByte(text[start - 1])) {
            let prefix = tokenPrefixes[needle - 3]
            let length = prefix.bytes.count
            do {
                var end = start + length
                while end < text.count && isTokenByte(text[end]) { end += 1 }
                if end - start - length >= prefix.minimum && !isPlaceholder(text[start + length..<end]) {
                    hits.append((.apiToken, start, .restricted))
                }
            }
        }
        // Bearer tokens.
        for start in Bytes.occurrences(of: Array("bearer ".utf8), in: lower) {
            var end = start + 7
            while end < text.count && (Bytes.isAlnum(text[end]) || [45, 46, 95, 126, 43, 47, 61].contains(text[end])) { end += 1 }
            let token = text[(start + 7)..<end]
            if token.count >= 20 && token.contains(where: Bytes.isDigit) && token.contains(where: Bytes.isLetter) && !isPlaceholder(token) {
                hits.append((.apiToken, start, .restricted))
            }
        }
        // `key = value` and `key: value` assignments of secrets.
        for (needle, start) in secretKeyNeedles.matches(in: lower) {
            let secret = secretKeys[needle]
            let key = secret.key
            if start == 0 || !Bytes.isWord(lower[start - 1]) {
                var index = start + key.count
                if index < lower.count && Bytes.isWord(lower[index]) { continue }
                while index < text.count && (text[index] == 32 || text[index] == 34 || text[index] == 39) { index += 1 }
                guard index < text.count, text[index] == 58 || text[index] == 61 else { continue }
                index += 1
                while index < text.count && (text[index] == 32 || text[index] == 34 || text[index] == 39) { index += 1 }
                var end = index
                while end < text.count && text[end] > 32 && text[end] != 34 && text[end] != 39 && text[end] != 44 && text[end] != 59 {
                    end += 1
                }
                while end > index && (text[end - 1] == 46 || text[end - 1] == 41) { end -= 1 }
                let value = text[index..<end]
                guard value.count >= secret.minimum, !isPlaceholder(value) else { continue }
                // A secret mixes kinds of characters; a word or a number alone is prose.
                let kinds = [
                    value.contains(where: Bytes.isDigit), value.contains(where: Bytes.isLetter), value.contains { !Bytes.isAlnum($0) },
                ]
                if kinds.filter({ $0 }).count >= 2 { hits.append((secret.detector, start, .restricted)) }
            }
        }
        return hits
    }

    // MARK: - Account and card numbers

    static func ibans(_ text: [UInt8]) -> [(range: Range<Int>, valid: Bool)] {
        var found: [(range: Range<Int>, valid: Bool)] = []
        var index = 0
        while index + 4 <= text.count {
            defer { index += 1 }
            guard Bytes.isUpper(text[index]), Bytes.isUpper(text[index + 1]), Bytes.isDigit(text[index + 2]),
                Bytes.isDigit(text[index + 3]), index == 0 || !Bytes.isAlnum(text[index - 1]),
                let length = Checksums.ibanLengths[String(decoding: text[index..<index + 2], as: UTF8.self)]
            else { continue }
            var characters: [UInt8] = []
            var end = index
            while end < text.count && characters.count < length {
                let byte = text[end]
                if Bytes.isUpper(byte) || Bytes.isDigit(byte) {
                    characters.append(byte)
                } else if byte == 32 && end + 1 < text.count && Bytes.isAlnum(text[end + 1]) && !characters.isEmpty {
                    // One space between groups.
                } else {
                    break
                }
                end += 1
            }
            guard characters.count == length, end == text.count || !Bytes.isAlnum(text[end]) else { continue }
            found.append((index..<end, Checksums.iban(characters)))
            index = end - 1
        }
        return found
    }

    /// Digit groups separated by single spaces or dashes; any run of whole groups of 13 to 19
    /// digits that passes Luhn and starts like a card.
    static func cards(_ text: [UInt8], excluding: [Range<Int>]) -> [Hit] {
        var hits: [Hit] = []
        var index = 0
        while index < text.count {
            guard Bytes.isDigit(text[index]), index == 0 || !Bytes.isAlnum(text[index - 1]),
                !excluding.contains(where: { $0.contains(index) })
            else {
                index += 1
                continue
            }
            var groups: [(start: Int, digits: [Int])] = []
            var cursor = index
            while cursor < text.count {
                let start = cursor
                var digits: [Int] = []
                while cursor < text.count && Bytes.isDigit(text[cursor]) {
                    digits.append(Int(text[cursor]) - 48)
                    cursor += 1
                }
                groups.append((start, digits))
                if cursor + 1 < text.count && (text[cursor] == 32 || text[cursor] == 45) && Bytes.isDigit(text[cursor + 1]) {
                    cursor += 1
                } else {
                    break
                }
            }
            let followedByLetter = cursor < text.count && Bytes.isLetter(text[cursor])
            if !followedByLetter {
                search: for first in groups.indices {
                    var number: [Int] = []
                    for group in groups[first...] {
                        number += group.digits
                        if number.count > 19 { break }
                        if number.count >= 13 && Checksums.cardPrefix(number) && Checksums.luhn(number) {
                            hits.append((.paymentCard, groups[first].start, .restricted))
                            break search
                        }
                    }
                }
            }
            index = max(cursor, index + 1)
        }
        return hits
    }

    // MARK: - National identifiers

    enum IDKind { case ssn, ukNI, steuerID, nir, dni, bsn, nifPT, codiceFiscale }

    /// Labels that introduce an identifier, and which kinds they may introduce.
    struct IDLabel {
        let label: [UInt8]
        let kinds: [IDKind]
        init(_ label: String, _ kinds: [IDKind]) {
            self.label = Array(label.utf8)
            self.kinds = kinds
        }
    }

    static let idLabels: [IDLabel] = [
        IDLabel("ssn", [.ssn]), IDLabel("social security", [.ssn]), IDLabel("national insurance", [.ukNI]),
        IDLabel("ni number", [.ukNI]), IDLabel("ni no", [.ukNI]), IDLabel("steuer-id", [.steuerID]),
        IDLabel("steueridentifikationsnummer", [.steuerID]), IDLabel("identifikationsnummer", [.steuerID]),
        IDLabel("steuer-identifikationsnummer", [.steuerID]), IDLabel("idnr", [.steuerID]), IDLabel("tax id", [.steuerID, .ssn]),
        IDLabel("sécurité sociale", [.nir]), IDLabel("securite sociale", [.nir]), IDLabel("nir", [.nir]), IDLabel("dni", [.dni]),
        IDLabel("nie", [.dni]), IDLabel("nif", [.dni, .nifPT]), IDLabel("bsn", [.bsn]), IDLabel("burgerservicenummer", [.bsn]),
        IDLabel("contribuinte", [.nifPT]), IDLabel("identificação fiscal", [.nifPT]), IDLabel("codice fiscale", [.codiceFiscale]),
        IDLabel("c.f.", [.codiceFiscale]),
    ]

    static let idLabelNeedles = Needles(idLabels.map(\.label))

    static func nationalIDs(_ text: [UInt8], _ lower: [UInt8]) -> [Hit] {
        var hits: [Hit] = []
        for (needle, start) in idLabelNeedles.matches(in: lower) {
            let (label, kinds) = (idLabels[needle].label, idLabels[needle].kinds)
            if Bytes.isWholeWord(lower, start, start + label.count) {
                // The identifier follows the label within a few words.
                var index = start + label.count
                let limit = min(text.count, index + 48)
                while index < limit {
                    let byte = text[index]
                    if Bytes.isDigit(byte) || (Bytes.isUpper(byte) && (kinds.contains(.dni) || kinds.contains(.codiceFiscale))) {
                        let value = identifier(text, from: index)
                        if kinds.contains(where: { matches(value, $0) }) {
                            hits.append((.nationalID, index, .restricted))
                            break
                        }
                        if !value.isEmpty && Bytes.isDigit(value[0]) { break }
                    }
                    index += 1
                }
            }
        }
        // UK National Insurance numbers are distinctive enough without a label.
        var index = 0
        while index + 9 <= text.count {
            if index == 0 || !Bytes.isAlnum(text[index - 1]), Bytes.isUpper(text[index]), Bytes.isUpper(text[index + 1]) {
                let value = identifier(text, from: index)
                if matches(value, .ukNI) && !hits.contains(where: { abs($0.offset - index) < 12 }) {
                    hits.append((.nationalID, index, .restricted))
                }
            }
            index += 1
        }
        return hits
    }

    /// Letters and digits from `start`, across single spaces, dots and dashes.
    static func identifier(_ text: [UInt8], from start: Int) -> [UInt8] {
        var value: [UInt8] = []
        var index = start
        while index < text.count && value.count < 20 {
            let byte = text[index]
            if Bytes.isDigit(byte) || Bytes.isUpper(byte) {
                value.append(byte)
            } else if (byte == 32 || byte == 46 || byte == 45) && index + 1 < text.count && Bytes.isAlnum(text[index + 1])
                && !value.isEmpty
            {
                // A separator between groups.
            } else {
                break
            }
            index += 1
        }
        return value
    }

    static func matches(_ value: [UInt8], _ kind: IDKind) -> Bool {
        let allDigits = value.allSatisfy(Bytes.isDigit)
        switch kind {
        case .ssn: return allDigits && value.count == 9 && Checksums.ssn(Checksums.digits(value))
        case .ukNI:
            guard value.count == 9, value[0..<2].allSatisfy(Bytes.isUpper), value[2..<8].allSatisfy(Bytes.isDigit),
                (65...68).contains(value[8])
            else { return false }
            let forbidden: Set<UInt8> = Set("DFIQUV".utf8)
            return !forbidden.contains(value[0]) && !forbidden.contains(value[1]) && value[1] != UInt8(ascii: "O")
        case .steuerID: return allDigits && value.count == 11 && Checksums.steuerID(Checksums.digits(value))
        case .nir: return allDigits && value.count == 15 && Checksums.nir(Checksums.digits(value))
        case .dni: return Checksums.dni(value)
        case .bsn: return allDigits && value.count == 9 && Checksums.bsn(Checksums.digits(value))
        case .nifPT: return allDigits && value.count == 9 && Checksums.nifPT(Checksums.digits(value))
        case .codiceFiscale:
            guard value.count == 16 else { return false }
            let shape = "LLLLLLDDLDDLDDDL".utf8
            return zip(value, shape).allSatisfy { byte, kind in kind == UInt8(ascii: "L") ? Bytes.isUpper(byte) : Bytes.isDigit(byte) }
        }
    }
}
