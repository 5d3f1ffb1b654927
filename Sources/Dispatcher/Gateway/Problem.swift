import Contracts
import Foundation
import Hummingbird

/// An error answered as `application/problem+json` (RFC 9457) with a stable `type`.
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

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var object: [String: Any] = [
            "type": Self.typeBase + slug, "title": title, "status": Int(status.code), "detail": detail,
            "instance": request.uri.path,
        ]
        for (key, value) in extra { object[key] = value }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func badRequest(_ detail: String, slug: String = "invalid-request") -> Problem {
        Problem(status: .badRequest, slug: slug, title: "The request is invalid", detail: detail)
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(status: .notFound, slug: "not-found", title: "Not found", detail: detail)
    }

    static func unauthorized(_ detail: String) -> Problem {
        Problem(
            status: .unauthorized, slug: "unauthorized", title: "Authentication required", detail: detail,
            headers: [.wwwAuthenticate: #"Bearer realm="openclaw", error="invalid_token""#])
    }

    static func forbidden(_ detail: String) -> Problem {
        Problem(status: .forbidden, slug: "forbidden", title: "Not allowed", detail: detail)
    }

    static func conflict(_ detail: String) -> Problem {
        Problem(status: .conflict, slug: "conflict", title: "Conflict", detail: detail)
    }

    static func policyDenied(_ decision: PolicyDecision) -> Problem {
        if decision.policyApplied == PolicyDecision.unavailable("").policyApplied {
            return Problem(
                status: .serviceUnavailable, slug: "policy-unavailable", title: "The policy engine is unavailable",
                detail: "\(decision.reason); the action was not taken", extra: ["policy": decision.policyApplied],
                headers: [.retryAfter: "5"])
        }
        return Problem(
            status: .forbidden, slug: "policy-denied", title: "Denied by policy", detail: decision.reason,
            extra: ["policy": decision.policyApplied])
    }

    static func unavailable(_ what: String, _ detail: String) -> Problem {
        Problem(
            status: .serviceUnavailable, slug: "\(what)-unavailable", title: "A backing service is unavailable", detail: detail,
            headers: [.retryAfter: "5"])
    }
}

/// Turns every error into problem+json: ours as they are, the framework's (404, 413, ...) by
/// status, anything else as a 500 that does not leak internals.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as HTTPResponseError {
            let problem: Problem
            switch error.status {
            case .notFound:
                problem = .notFound("no route for \(request.method) \(request.uri.path)")
            case .contentTooLarge:
                problem = Problem(
                    status: .contentTooLarge, slug: "body-too-large", title: "The request body is too large",
                    detail: "the body exceeds the size limit")
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
            return try Problem(
                status: .internalServerError, slug: "internal", title: "Internal error", detail: "the request failed; it has been logged"
            )
            .response(from: request, context: context)
        }
    }
}
