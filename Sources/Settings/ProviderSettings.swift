import Contracts
import Foundation

/// Where the connectors' providers are and how the fleet is registered with them: OAuth
/// clients, endpoints (so local fakes stand in for the real providers with no code change) and
/// the public URL the providers redirect back to.
public struct ProviderSettings: Sendable {
    /// An OAuth client registered with a provider.
    public struct Client: Sendable, Equatable {
        public var id: String
        public var secret: String

        public init(id: String = "", secret: String = "") {
            self.id = id
            self.secret = secret
        }

        public var isConfigured: Bool { !id.isEmpty && !secret.isEmpty }
    }

    public struct Google: Sendable {
        public var client = Client()
        public var authorizeURL = "https://accounts.google.com/o/oauth2/v2/auth"
        public var tokenURL = "https://oauth2.googleapis.com/token"
        public var revokeURL = "https://oauth2.googleapis.com/revoke"
        /// Gmail's host (`/gmail/v1/...` is appended).
        public var gmailURL = "https://gmail.googleapis.com"
        /// Calendar's host (`/calendar/v3/...` is appended).
        public var calendarURL = "https://www.googleapis.com"
        /// Drive's host (`/drive/v3/...` is appended).
        public var driveURL = "https://www.googleapis.com"
    }

    public struct Atlassian: Sendable {
        public var client = Client()
        public var authorizeURL = "https://auth.atlassian.com/authorize"
        public var tokenURL = "https://auth.atlassian.com/oauth/token"
        public var resourcesURL = "https://api.atlassian.com/oauth/token/accessible-resources"
        /// Jira's API gateway (`/ex/jira/{cloudid}/rest/api/3/...` is appended).
        public var jiraURL = "https://api.atlassian.com"
    }

    public struct GitHub: Sendable {
        public var client = Client()
        public var authorizeURL = "https://github.com/login/oauth/authorize"
        public var tokenURL = "https://github.com/login/oauth/access_token"
        public var apiURL = "https://api.github.com"
    }

    /// An OpenAI-compatible chat-completions endpoint the classifier and the auto-responder may
    /// ask where the policy allows (`model.call`); none configured: rules and templates only.
    public struct Model: Sendable, Equatable {
        /// The API's base URL (`<url>/chat/completions` is called), e.g. `https://api.openai.com/v1`.
        public var url: String?
        public var name = "gpt-4o-mini"
        public var apiKey: String?
        /// Outside the fleet's own infrastructure: the policy's `external_max_classification`
        /// bounds what may be sent to it.
        public var external = true
        public var timeout: Duration = .seconds(20)

        public init() {}

        public var isConfigured: Bool { url != nil }
    }

    public var google = Google()
    public var atlassian = Atlassian()
    public var model = Model()
    public var github = GitHub()
    /// The gateway's public URL: providers redirect to `<base>/v1/connectors/<type>/callback`.
    public var redirectBase = "http://127.0.0.1:8080"
    /// How many requests per minute the whole fleet makes to each connector for one tenant.
    public var budgetPerMinute: [Connector: Int] = [.gmail: 6_000, .gcal: 500, .gdrive: 6_000, .jira: 600, .github: 80]

    public init() {}

    public init(_ values: ConfigurationValues) throws(FleetError) {
        func url(_ key: String, _ current: inout String) throws(FleetError) {
            guard let value = values.string(key) else { return }
            guard let parsed = URL(string: value), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw values.invalid(key, expected: "an http(s) URL")
            }
            current = value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        func client(_ prefix: String, _ current: inout Client) {
            if let value = values.string("\(prefix)_client_id") { current.id = value }
            if let value = values.string("\(prefix)_client_secret") { current.secret = value }
        }
        client("google", &google.client)
        try url("google_authorize_url", &google.authorizeURL)
        try url("google_token_url", &google.tokenURL)
        try url("google_revoke_url", &google.revokeURL)
        try url("gmail_url", &google.gmailURL)
        try url("gcal_url", &google.calendarURL)
        try url("gdrive_url", &google.driveURL)
        client("atlassian", &atlassian.client)
        try url("atlassian_authorize_url", &atlassian.authorizeURL)
        try url("atlassian_token_url", &atlassian.tokenURL)
        try url("atlassian_resources_url", &atlassian.resourcesURL)
        try url("jira_url", &atlassian.jiraURL)
        client("github", &github.client)
        try url("github_authorize_url", &github.authorizeURL)
        try url("github_token_url", &github.tokenURL)
        try url("github_api_url", &github.apiURL)
        try url("oauth_redirect_base", &redirectBase)
        var modelURL = ""
        try url("model_url", &modelURL)
        if !modelURL.isEmpty { model.url = modelURL }
        if let value = values.string("model_name"), !value.isEmpty { model.name = value }
        if let value = values.string("model_api_key"), !value.isEmpty {
            model.apiKey = value
        } else if let path = values.string("model_api_key_file") {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw values.invalid("model_api_key_file", expected: "a readable file holding the model API's key")
            }
            model.apiKey = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let value = try values.bool("model_external") { model.external = value }
        if let value = try values.seconds("model_timeout_seconds", in: 1...600) { model.timeout = value }
        for connector in Connector.allCases {
            if let value = try values.int("\(connector.rawValue)_budget_per_minute", in: 1...10_000_000) {
                budgetPerMinute[connector] = value
            }
        }
    }
}
