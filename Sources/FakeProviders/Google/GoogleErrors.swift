/// Google's error envelopes. Gmail answers in the newer form (with the gRPC `status`), Calendar
/// and Drive in the classic one, with the field order the vendors use.
enum GoogleErrors {
    enum Style: Sendable {
        /// `{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}` (Gmail).
        case modern
        /// `{"error":{"errors":[{"domain","reason","message"}],"code","message"}}` (Calendar, Drive).
        case classic
    }

    /// One entry of `errors`.
    struct Item: Sendable {
        var domain = "global"
        var reason: String
        var message: String
        var location: String?
        var locationType: String?
    }

    static func envelope(code: Int, message: String, items: [Item], status: String?, style: Style) -> JSON {
        let list: [JSON] = items.map { item in
            var fields: [(String, JSON)] = []
            switch style {
            case .modern:
                fields = [("message", .string(item.message)), ("domain", .string(item.domain)), ("reason", .string(item.reason))]
                if let location = item.location { fields.append(("location", .string(location))) }
                if let type = item.locationType { fields.append(("locationType", .string(type))) }
            case .classic:
                fields = [("domain", .string(item.domain)), ("reason", .string(item.reason)), ("message", .string(item.message))]
                if let type = item.locationType { fields.append(("locationType", .string(type))) }
                if let location = item.location { fields.append(("location", .string(location))) }
            }
            return .object(fields)
        }
        switch style {
        case .modern:
            var fields: [(String, JSON)] = [("code", .int(Int64(code))), ("message", .string(message)), ("errors", .array(list))]
            if let status { fields.append(("status", .string(status))) }
            return .object([("error", .object(fields))])
        case .classic:
            return .object([("error", .object([("errors", .array(list)), ("code", .int(Int64(code))), ("message", .string(message))]))])
        }
    }

    static func response(code: Int, message: String, items: [Item], status: String?, style: Style) -> ProviderResponse {
        .json(envelope(code: code, message: message, items: items, status: status, style: style), status: code)
    }

    /// 401 for a missing, unknown, expired or revoked access token.
    static func unauthenticated(missing: Bool, style: Style) -> ProviderResponse {
        var response: ProviderResponse
        switch (style, missing) {
        case (.modern, false):
            response = Self.response(
                code: 401,
                message:
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                items: [Item(reason: "authError", message: "Invalid Credentials", location: "Authorization", locationType: "header")],
                status: "UNAUTHENTICATED", style: style)
        case (.modern, true):
            response = Self.response(
                code: 401,
                message:
                    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                items: [Item(reason: "required", message: "Login Required.", location: "Authorization", locationType: "header")],
                status: "UNAUTHENTICATED", style: style)
        case (.classic, false):
            response = Self.response(
                code: 401, message: "Invalid Credentials",
                items: [Item(reason: "authError", message: "Invalid Credentials", location: "Authorization", locationType: "header")],
                status: nil, style: style)
        case (.classic, true):
            response = Self.response(
                code: 401, message: "Login Required",
                items: [Item(reason: "required", message: "Login Required", location: "Authorization", locationType: "header")],
                status: nil, style: style)
        }
        response.headers.append(("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""))
        return response
    }

    static func insufficientScopes(style: Style) -> ProviderResponse {
        var response = Self.response(
            code: 403, message: "Request had insufficient authentication scopes.",
            items: [Item(reason: "insufficientPermissions", message: "Insufficient Permission")], status: "PERMISSION_DENIED",
            style: style)
        response.headers.append(
            ("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\""))
        return response
    }

    static func notFound(_ message: String = "Requested entity was not found.", style: Style) -> ProviderResponse {
        response(code: 404, message: message, items: [Item(reason: "notFound", message: message)], status: "NOT_FOUND", style: style)
    }

    static func badRequest(_ message: String, reason: String = "badRequest", location: String? = nil, style: Style) -> ProviderResponse {
        response(
            code: 400, message: message,
            items: [Item(reason: reason, message: message, location: location, locationType: location == nil ? nil : "parameter")],
            status: "INVALID_ARGUMENT", style: style)
    }

    static func invalidParameter(_ message: String, parameter: String, style: Style) -> ProviderResponse {
        badRequest(message, reason: "invalidParameter", location: parameter, style: style)
    }

    static func forbidden(_ message: String, reason: String = "forbidden", domain: String = "global", style: Style) -> ProviderResponse {
        response(
            code: 403, message: message, items: [Item(domain: domain, reason: reason, message: message)], status: "PERMISSION_DENIED",
            style: style)
    }

    /// Over a quota: 403 `usageLimits` (`userRateLimitExceeded`, `rateLimitExceeded`) or 429.
    static func rateLimited(status: Int, reason: String, message: String, style: Style) -> ProviderResponse {
        response(
            code: status, message: message, items: [Item(domain: "usageLimits", reason: reason, message: message)],
            status: status == 429 ? "RESOURCE_EXHAUSTED" : "PERMISSION_DENIED", style: style)
    }

    /// The body an injected fault of `status` gets when the test gave none.
    static func faultBody(status: Int, style: Style) -> ProviderResponse {
        switch status {
        case 429: return rateLimited(status: 429, reason: "rateLimitExceeded", message: "Rate Limit Exceeded", style: style)
        case 403: return rateLimited(status: 403, reason: "userRateLimitExceeded", message: "User Rate Limit Exceeded", style: style)
        case 401: return unauthenticated(missing: false, style: style)
        case 404: return notFound(style: style)
        case 400: return badRequest("Bad Request", style: style)
        case 503:
            return response(
                code: 503, message: "The service is currently unavailable.",
                items: [Item(reason: "backendError", message: "The service is currently unavailable.")], status: "UNAVAILABLE",
                style: style)
        default:
            return response(
                code: status, message: "Backend Error", items: [Item(reason: "backendError", message: "Backend Error")],
                status: status >= 500 ? "INTERNAL" : nil, style: style)
        }
    }
}
