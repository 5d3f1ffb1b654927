/// The check-digit rules that tell a real card, account or identifier from a number that only
/// looks like one. Every function takes ASCII digits (and letters where the format has them).
enum Checksums {
    static func digits(_ bytes: some Collection<UInt8>) -> [Int] { bytes.map { Int($0) - 48 } }

    /// The Luhn check of payment card numbers.
    static func luhn(_ number: [Int]) -> Bool {
        var sum = 0
        for (offset, digit) in number.reversed().enumerated() {
            var value = digit
            if offset % 2 == 1 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return sum % 10 == 0
    }

    /// Issuer prefixes of the card networks (Visa, Mastercard, Amex, Discover, JCB, Diners,
    /// UnionPay, Maestro): a Luhn-valid number with another prefix is more likely a reference.
    static func cardPrefix(_ number: [Int]) -> Bool {
        guard number.count >= 13, let first = number.first else { return false }
        let two = number[0] * 10 + number[1]
        let four = two * 100 + number[2] * 10 + number[3]
        switch first {
        case 4: return true
        case 5: return (51...55).contains(two) || (50...59).contains(two) && number.count >= 16
        case 2: return (2221...2720).contains(four)
        case 3: return two == 34 || two == 37 || two == 36 || two == 38 || (3528...3589).contains(four) || two == 30
        case 6: return four == 6011 || two == 65 || two == 62 || (644...649).contains(four / 10) || two == 67
        default: return false
        }
    }

    /// IBAN lengths by country (the ISO 13616 registry's common entries).
    static let ibanLengths: [String: Int] = [
        "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18,
        "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
        "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    ]

    /// The ISO 7064 mod-97 check of an IBAN (uppercase letters and digits, no spaces).
    static func iban(_ characters: [UInt8]) -> Bool {
        guard characters.count >= 15 else { return false }
        var remainder = 0
        for byte in characters[4...] + characters[..<4] {
            if Bytes.isDigit(byte) {
                remainder = (remainder * 10 + Int(byte) - 48) % 97
            } else if Bytes.isUpper(byte) {
                let value = Int(byte) - 55
                remainder = (remainder * 100 + value) % 97
            } else {
                return false
            }
        }
        return remainder == 1
    }

    /// A US Social Security number's structure (no area 000, 666 or 9xx, no zero group or serial).
    static func ssn(_ number: [Int]) -> Bool {
        guard number.count == 9 else { return false }
        let area = number[0] * 100 + number[1] * 10 + number[2]
        let group = number[3] * 10 + number[4]
        let serial = number[5...].reduce(0) { $0 * 10 + $1 }
        return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
    }

    /// The German tax id (Steuer-ID): 11 digits, ISO 7064 MOD 11,10.
    static func steuerID(_ number: [Int]) -> Bool {
        guard number.count == 11, number[0] != 0 else { return false }
        var product = 10
        for digit in number[..<10] {
            var sum = (digit + product) % 10
            if sum == 0 { sum = 10 }
            product = (sum * 2) % 11
        }
        var check = 11 - product
        if check == 10 { check = 0 }
        return check == number[10]
    }

    /// The French social security number (NIR): 13 digits and a key of 2.
    static func nir(_ number: [Int]) -> Bool {
        guard number.count == 15, number[0] == 1 || number[0] == 2 else { return false }
        let body = number[..<13].reduce(Int64(0)) { $0 * 10 + Int64($1) }
        let key = number[13] * 10 + number[14]
        return Int64(key) == 97 - body % 97
    }

    /// The Spanish DNI (8 digits and a letter) or NIE (X, Y or Z, 7 digits and a letter).
    static func dni(_ characters: [UInt8]) -> Bool {
        guard characters.count == 9, let letter = characters.last, Bytes.isUpper(letter) else { return false }
        var value = 0
        for (index, byte) in characters.dropLast().enumerated() {
            if Bytes.isDigit(byte) {
                value = value * 10 + Int(byte) - 48
            } else if index == 0, let prefix = [UInt8(ascii: "X"), UInt8(ascii: "Y"), UInt8(ascii: "Z")].firstIndex(of: byte) {
                value = prefix
            } else {
                return false
            }
        }
        return Array("TRWAGMYFPDXBNJZSQVHLCKE".utf8)[value % 23] == letter
    }

    /// The Dutch citizen service number (BSN): 9 digits, the 11-check.
    static func bsn(_ number: [Int]) -> Bool {
        guard number.count == 9 else { return false }
        var sum = 0
        for index in 0..<8 { sum += number[index] * (9 - index) }
        sum -= number[8]
        return sum % 11 == 0 && sum != 0
    }

    /// The Portuguese tax number (NIF): 9 digits, mod 11.
    static func nifPT(_ number: [Int]) -> Bool {
        guard number.count == 9 else { return false }
        var sum = 0
        for index in 0..<8 { sum += number[index] * (9 - index) }
        var check = 11 - sum % 11
        if check >= 10 { check = 0 }
        return check == number[8]
    }
}
