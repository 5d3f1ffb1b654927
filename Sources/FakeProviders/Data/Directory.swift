/// A person the generated data mentions: a fleet user (who has accounts at every provider) or a
/// colleague, customer or vendor who only appears in mail, calendars and issues.
struct Person: Sendable, Hashable {
    let email: String
    let name: String
    let language: Language
    let timeZone: String
    /// Jira's `accountId`.
    let accountId: String
    let githubLogin: String
    let githubId: Int64
    /// Drive's `permissionId`.
    let permissionId: String
    let isUser: Bool

    var firstName: String { String(name.split(separator: " ").first ?? Substring(name)) }
    var domain: String { String(email.split(separator: "@").last ?? "") }
}

/// Languages of the generated mail.
enum Language: String, Sendable, CaseIterable {
    case en, de, fr, es, ja
}

/// Everyone in the generated world, made from the seed.
struct Directory: Sendable {
    let users: [Person]
    /// Colleagues at the users' company who are not fleet users.
    let colleagues: [Person]
    /// Customers and vendors.
    let externals: [Person]
    /// Fleet users and colleagues: the people who work in Jira and GitHub.
    let staff: [Person]
    private let byEmail: [String: Person]
    private let byAccount: [String: Person]
    private let byLogin: [String: Person]

    private static let firstNames = [
        "Maya", "Jonas", "Lea", "Noah", "Sofia", "Lukas", "Emma", "Mateo", "Chloé", "Hugo", "Lucía", "Pablo", "Yuki", "Haruto", "Aiko",
        "Oliver", "Amelia", "Finn", "Clara", "Elias", "Inès", "Louis", "Valentina", "Diego", "Sakura", "Ren", "Grace", "Samuel",
        "Hannah", "Leon",
    ]
    private static let lastNames = [
        "Schneider", "Fischer", "Weber", "Martin", "Bernard", "Dubois", "García", "Fernández", "López", "Tanaka", "Suzuki", "Sato",
        "Smith", "Johnson", "Brown", "Müller", "Wagner", "Moreau", "Laurent", "Romero", "Navarro", "Takahashi", "Ito", "Taylor",
        "Wilson", "Keller", "Roux", "Ortega", "Kobayashi", "Evans",
    ]
    private static let languageOfFirstName: [String: Language] = [
        "Jonas": .de, "Lukas": .de, "Lea": .de, "Clara": .de, "Elias": .de, "Leon": .de, "Hannah": .de, "Chloé": .fr, "Hugo": .fr,
        "Inès": .fr, "Louis": .fr, "Lucía": .es, "Pablo": .es, "Mateo": .es, "Valentina": .es, "Diego": .es, "Yuki": .ja,
        "Haruto": .ja, "Aiko": .ja, "Sakura": .ja, "Ren": .ja,
    ]
    private static let zones: [Language: String] = [
        .en: "Europe/London", .de: "Europe/Berlin", .fr: "Europe/Paris", .es: "Europe/Madrid", .ja: "Asia/Tokyo",
    ]

    init(userEmails: [String], seed: UInt64) {
        var random = SeededGenerator(seed: seed, purpose: "directory")
        var users: [Person] = []
        var nextGitHubID: Int64 = 5_830_000
        func make(email: String, name: String, isUser: Bool, random: inout SeededGenerator) -> Person {
            nextGitHubID += Int64.random(in: 1...9000, using: &random)
            let first = String(name.split(separator: " ").first ?? "")
            let language = Self.languageOfFirstName[first] ?? (isUser ? .en : random.pick(Language.allCases))
            let local = String(email.split(separator: "@").first ?? "")
            return Person(
                email: email, name: name, language: language, timeZone: Self.zones[language] ?? "Europe/London",
                accountId: "712020:" + Self.uuid(&random), githubLogin: local.replacingDots(),
                githubId: nextGitHubID, permissionId: String(random.next() % 100_000_000_000_000_000), isUser: isUser)
        }
        for email in userEmails {
            let local = String(email.split(separator: "@").first ?? "user")
            let first = local.split(separator: ".").first.map { $0.prefix(1).uppercased() + $0.dropFirst() } ?? local
            let name = first + " " + random.pick(Self.lastNames)
            users.append(make(email: email.lowercased(), name: name, isUser: true, random: &random))
        }
        let companyDomain = users.first?.domain ?? "acme.test"
        var colleagues: [Person] = []
        for index in 0..<14 {
            let first = Self.firstNames[(index * 7 + 3) % Self.firstNames.count]
            let last = random.pick(Self.lastNames)
            let email = "\(first.asciiFolded).\(last.asciiFolded)@\(companyDomain)".lowercased()
            colleagues.append(make(email: email, name: "\(first) \(last)", isUser: false, random: &random))
        }
        var externals: [Person] = []
        let companies = ["globex.example", "initech.example", "umbrella-labs.example", "vandelay.example", "soylent.example"]
        for index in 0..<12 {
            let first = Self.firstNames[(index * 11 + 5) % Self.firstNames.count]
            let last = random.pick(Self.lastNames)
            let email = "\(first.asciiFolded).\(last.asciiFolded)@\(companies[index % companies.count])".lowercased()
            externals.append(make(email: email, name: "\(first) \(last)", isUser: false, random: &random))
        }
        self.users = users
        self.colleagues = colleagues
        self.externals = externals
        var index: [String: Person] = [:]
        for person in users + colleagues + externals { index[person.email] = index[person.email] ?? person }
        byEmail = index
        staff = users + colleagues
        var accounts: [String: Person] = [:]
        var logins: [String: Person] = [:]
        for person in staff {
            accounts[person.accountId] = accounts[person.accountId] ?? person
            logins[person.githubLogin.lowercased()] = logins[person.githubLogin.lowercased()] ?? person
        }
        byAccount = accounts
        byLogin = logins
    }

    /// The person with `email` (case-insensitive).
    func person(_ email: String) -> Person? { byEmail[email.lowercased()] }

    func user(_ email: String) -> Person? { person(email).flatMap { $0.isUser ? $0 : nil } }

    /// The user with GitHub login `login`.
    func user(githubLogin login: String) -> Person? { byLogin[login.lowercased()].flatMap { $0.isUser ? $0 : nil } }

    /// The user or colleague with GitHub login `login`.
    func person(githubLogin login: String) -> Person? { byLogin[login.lowercased()] }

    func person(accountId: String) -> Person? { byAccount[accountId] }

    static func uuid(_ random: inout SeededGenerator) -> String {
        let hex = random.string(32, alphabet: "0123456789abcdef")
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-4" + String(c[13..<16]) + "-a" + String(c[17..<20]) + "-"
            + String(c[20..<32])
    }
}

extension String {
    /// Letters folded to ASCII for mail addresses (`Chloé` → `chloe`).
    var asciiFolded: String {
        let map: [Character: String] = ["é": "e", "è": "e", "ü": "u", "ö": "o", "ä": "a", "í": "i", "á": "a", "ñ": "n", "ç": "c"]
        return map.isEmpty ? self : String(flatMap { map[$0] ?? String($0) })
    }

    func replacingDots() -> String { split(separator: ".").joined(separator: "-") }
}
