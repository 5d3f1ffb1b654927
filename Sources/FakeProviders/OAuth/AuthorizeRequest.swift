/// The parameters common to the three authorize endpoints, checked the same way.
struct AuthorizeRequest {
    let clientId: String
    let redirectURI: String?
    let scopes: [String]
    let state: String?
    let responseType: String?
    let challenge: String?
    let challengeMethod: String?

    init(_ query: QueryItems, scopeSeparator: Character) {
        clientId = query["client_id"] ?? ""
        redirectURI = query["redirect_uri"]
        scopes = (query["scope"] ?? "").split(whereSeparator: { $0 == scopeSeparator || $0 == " " }).map(String.init)
        state = query["state"]
        responseType = query["response_type"]
        challenge = query["code_challenge"]
        challengeMethod = query["code_challenge_method"]
    }

    /// `redirect_uri` with `pairs` added to its query.
    static func redirect(to uri: String, _ pairs: [(String, String?)]) -> ProviderResponse {
        let present = pairs.compactMap { pair in pair.1.map { (pair.0, $0) } }
        let separator = uri.contains("?") ? "&" : "?"
        return .redirect(uri + separator + PercentEncoding.form(present))
    }

    /// Whether `uri` may receive codes: any http(s) URI unless callbacks are registered.
    static func isAllowed(_ uri: String, registered: [String]) -> Bool {
        guard uri.hasPrefix("http://") || uri.hasPrefix("https://") || uri.contains(":/") else { return false }
        return registered.isEmpty || registered.contains(uri)
    }
}

/// What the authorization services share: clients, consents, the directory and their authority.
struct OAuthSetup: Sendable {
    let client: OAuthClientRegistration
    let authority: TokenAuthority
    let consent: ConsentDesk
    let directory: Directory
    /// Registered callbacks (empty: any).
    let redirectURIs: [String]

    /// Client credentials from the body or `Authorization: Basic`; nil when absent.
    func credentials(_ request: ProviderRequest, fields: QueryItems) -> (id: String, secret: String?)? {
        if let basic = request.basicCredentials {
            return (PercentEncoding.decode(basic.user, plusAsSpace: true), PercentEncoding.decode(basic.password, plusAsSpace: true))
        }
        guard let id = fields["client_id"] else { return nil }
        return (id, fields["client_secret"])
    }

    /// The user consenting: the one the request names if known, else the desk's.
    func consentingUser(hint: String?, provider: OAuthProvider) -> ConsentDesk.Decision {
        var decision = consent.decision(for: provider)
        if let hint, !hint.isEmpty {
            if let person = directory.user(hint) ?? directory.user(githubLogin: hint) { decision.user = person.email }
        }
        return decision
    }
}

extension QueryItems {
    /// The parameters of a token request: the form or JSON body, and the query string.
    static func tokenRequest(_ request: ProviderRequest) -> QueryItems {
        var text = request.rawQuery
        if request.contentType.contains("json"), case .object(let fields)? = request.json {
            let pairs = fields.compactMap { field -> (String, String)? in
                switch field.1 {
                case .string(let value): return (field.0, value)
                case .int(let value): return (field.0, String(value))
                case .bool(let value): return (field.0, String(value))
                default: return nil
                }
            }
            text += "&" + PercentEncoding.form(pairs)
        } else {
            text += "&" + String(decoding: request.body, as: UTF8.self)
        }
        return QueryItems(text)
    }
}
