import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of the fakes: Hummingbird's, plus the channel (to drop a connection for
/// an injected timeout).
struct FakeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    var maxUploadSize: Int { 64 << 20 }
}

/// Serves one `FakeService` over HTTP: reads the request, applies injected faults, records the
/// exchange in the request log, writes the answer.
struct ServiceResponder: HTTPResponder {
    typealias Context = FakeRequestContext

    let kind: ServiceKind
    let service: any FakeService
    let faults: FaultInjector
    let log: RequestLog

    func respond(to request: Request, context: Context) async throws -> Response {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(request.headers.count)
        for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
        let target = request.uri.query.map { request.uri.path + "?" + $0 } ?? request.uri.path
        let provided = ProviderRequest(
            method: request.method.rawValue, target: target, headers: headers, body: Array(buffer: body))
        if GoogleBatchEndpoint.accepts(kind, provided) { return Self.response(try await batch(provided, context: context)) }
        return Self.response(try await answer(provided, context: context))
    }

    /// One call: injected faults first, then the service; recorded in the request log.
    func answer(_ provided: ProviderRequest, context: Context) async throws -> ProviderResponse {
        var answer: ProviderResponse
        if kind != .control, let fault = faults.take(service: kind, method: provided.method, path: provided.path) {
            if fault.delayMillis > 0 { try? await Task.sleep(for: .milliseconds(fault.delayMillis)) }
            switch fault.status {
            case nil:
                answer = await service.respond(to: provided)
            case 0?:
                log.record(service: kind, request: provided, status: 0)
                context.channel.close(promise: nil)
                throw CancellationError()
            case let status?:
                answer = FaultAnswers.answer(for: kind, status: status, body: fault.body)
                for (name, value) in fault.headers { answer.setHeader(name, value) }
            }
        } else {
            answer = await service.respond(to: provided)
        }
        if kind != .control { log.record(service: kind, request: provided, status: answer.status) }
        return answer
    }

    /// A Google batch: each call answered as if sent alone (faults, service, request log), one
    /// after another.
    func batch(_ provided: ProviderRequest, context: Context) async throws -> ProviderResponse {
        let calls: [GoogleBatchEndpoint.Call]
        switch GoogleBatchEndpoint.calls(provided) {
        case .failure(let refusal): return refusal.response
        case .success(let value): calls = value
        }
        var answers: [(contentID: String, response: ProviderResponse)] = []
        answers.reserveCapacity(calls.count)
        for call in calls {
            answers.append((call.contentID, try await answer(call.request, context: context)))
        }
        return GoogleBatchEndpoint.answer(answers, boundary: "batch_\(UInt64.random(in: 1...UInt64.max))")
    }

    static func response(_ answer: ProviderResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        let status = HTTPResponse.Status(code: answer.status)
        if answer.status == 304 || answer.status == 204 {
            return Response(status: status, headers: fields, body: .init())
        }
        fields[.contentLength] = String(answer.body.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}

/// Default bodies of injected faults, in each vendor's error format.
enum FaultAnswers {
    static func answer(for kind: ServiceKind, status: Int, body: String?) -> ProviderResponse {
        if let body {
            let isJSON = body.hasPrefix("{") || body.hasPrefix("[")
            return .text(body, status: status, contentType: isJSON ? "application/json; charset=UTF-8" : "text/plain; charset=utf-8")
        }
        switch kind {
        case .gmail: return GoogleErrors.faultBody(status: status, style: .modern)
        case .calendar, .drive: return GoogleErrors.faultBody(status: status, style: .classic)
        case .jira:
            let message = status == 429 ? "Rate limit exceeded." : "Internal server error"
            return .json(.object([("errorMessages", .array([.string(message)])), ("errors", .object([]))]), status: status)
        case .github:
            let message =
                status == 429 || status == 403
                ? "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
                : "Server Error"
            return .json(
                .object([
                    ("message", .string(message)),
                    ("documentation_url", "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"),
                    ("status", .string(String(status))),
                ]), status: status, contentType: "application/json; charset=utf-8")
        case .googleOAuth, .atlassianAuth, .githubOAuth, .control:
            let code = status == 429 ? "rate_limit_exceeded" : status >= 500 ? "server_error" : "invalid_request"
            return .json(.object([("error", .string(code)), ("error_description", .string("Injected fault"))]), status: status)
        }
    }
}
