import Contracts
import Foundation
import Hummingbird

/// An error answered as `application/problem+json` (RFC 9457) with a stable `type`: the one
/// place where domain errors (`FleetError` and what converts to it) become HTTP answers.
struct Problem: Error, HTTPResponseError, CustomStringConvertible {
    static let typeBase = "https://openclaw.dev/problems/"

    let status: HTTPResponse.Status
    /// The stable slug of `type` (e.g. `policy-denied`).
    let slug: String
    let title: String
    let detail: String
    var extra: [String: String] = [:]
    var headers: HTTPFields = [:]

    var description: String { "\(status.code) \(slug): \(detail)" }

    init(status: HTTPResponse.Status, slug: String, title: String, detail: String, extra: [String: String] = [:], headers: HTTPFields = [:])
    {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.extra = extra
        self.headers = headers
    }

    /// The answer to a domain error.
    init(_ error: FleetError) {
        let (status, title) = Self.status(of: error.code)
        var headers: HTTPFields = [:]
        if error.code == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="openclaw", error="invalid_token""# }
        if let retryAfter = error.retryAfter ?? (status == .serviceUnavailable ? 5 : nil) {
            headers[.retryAfter] = String(retryAfter)
        }
        // Internal failures say nothing of the internals.
        let detail = status == .internalServerError ? "the request failed; it has been logged" : error.message
        self.init(status: status, slug: error.code.rawValue, title: title, detail: detail, extra: error.details, headers: headers)
    }

    /// Status and title per code.
    static func status(of code: FleetError.Code) -> (HTTPResponse.Status, String) {
        switch code {
        case .invalidRequest, .malformedJSON, .unknownField, .invalidTenant, .unknownKind, .invalidAction, .invalidJob, .invalidPayload,
            .invalidPolicy:
            (.badRequest, "The request is invalid")
        case .bodyTooLarge: (.contentTooLarge, "The request body is too large")
        case .requestTimeout: (.requestTimeout, "The request body did not arrive in time")
        case .unauthorized: (.unauthorized, "Authentication required")
        case .forbidden: (.forbidden, "Not allowed")
        case .policyDenied: (.forbidden, "Denied by policy")
        case .notFound: (.notFound, "Not found")
        case .conflict: (.conflict, "Conflict")
        case .tenantNotProvisioned: (.conflict, "The tenant is not provisioned")
        case .notConfigured: (.conflict, "Not set up in this deployment")
        case .policyWidensParent: (.unprocessableContent, "A lower scope may only restrict its parents")
        case .rateLimited: (.tooManyRequests, "Too many requests")
        case .policyUnavailable: (.serviceUnavailable, "The policy engine is unavailable")
        case .queueUnavailable, .databaseUnavailable, .auditUnavailable, .identityProviderUnavailable, .connectorUnavailable, .timeout:
            (.serviceUnavailable, "A backing service is unavailable")
        case .redisError, .databaseError, .invalidConfiguration, .auditIntegrity, .internal:
            (.internalServerError, "Internal error")
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body(instance: request.uri.path))))
    }

    /// The problem document, for the request at `instance`.
    func body(instance: String) -> Data {
        var object: [String: String] = ["type": Self.typeBase + slug, "title": title, "detail": detail, "instance": instance]
        for (key, value) in extra { object[key] = value }
        var data = Data("{".utf8)
        for (index, key) in object.keys.sorted().enumerated() {
            if index > 0 { data.append(UInt8(ascii: ",")) }
            data.append(contentsOf: JSONText.quoted(key).utf8)
            data.append(UInt8(ascii: ":"))
            data.append(contentsOf: JSONText.quoted(object[key]!).utf8)
        }
        data.append(contentsOf: #","status":\#(status.code)}"#.utf8)
        return data
    }
}

/// Turns every error into problem+json: domain errors by their code, the framework's (404,
/// 413, ...) by status, anything else as a 500 that does not leak internals (and is logged).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as any FleetErrorConvertible {
            let fleetError = error.fleetError
            if Problem.status(of: fleetError.code).0 == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            return try Problem(fleetError).response(from: request, context: context)
        } catch let error as HTTPResponseError {
            let problem: Problem
            switch error.status {
            case .notFound:
                problem = Problem(.notFound("no route for \(request.method) \(request.uri.path)"))
            case .contentTooLarge:
                problem = Problem(FleetError(.bodyTooLarge, "the body exceeds the size limit"))
            case .methodNotAllowed:
                problem = Problem(
                    status: .methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                    detail: "\(request.method) is not allowed on \(request.uri.path)")
            default:
                problem = Problem(
                    status: error.status, slug: "http-\(error.status.code)", title: error.status.reasonPhrase, detail: "\(error)")
            }
            return try problem.response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return try Problem(FleetError(.internal, "\(error)")).response(from: request, context: context)
        }
    }
}
