/// Google's batch endpoint of an API (Gmail's `POST /batch/gmail/v1`): a `multipart/mixed` body
/// of up to 100 HTTP requests (`Content-Type: application/http`), answered by a
/// `multipart/mixed` body of their responses, each paired to its request by `Content-ID`
/// (`<x>` answered as `<response-x>`). The outer request's headers (the token) apply to every
/// call unless the call sets its own.
enum GoogleBatchEndpoint {
    static let maxCalls = 100

    /// One call of a batch.
    struct Call {
        let contentID: String
        let request: ProviderRequest
    }

    /// Whether `request` is a batch of the `kind` listener.
    static func accepts(_ kind: ServiceKind, _ request: ProviderRequest) -> Bool {
        kind == .gmail && request.method == "POST" && request.path == "/batch/gmail/v1"
    }

    /// The calls of a batch, or the error answer of a body that is not one.
    static func calls(_ request: ProviderRequest) -> Result<[Call], GateRefusal> {
        let contentType = ContentType(request.header("content-type") ?? "")
        guard contentType.value.lowercased() == "multipart/mixed", let boundary = contentType.parameters["boundary"] else {
            return .failure(GateRefusal(GoogleErrors.badRequest("Content-Type must be multipart/mixed with a boundary", style: .modern)))
        }
        let parts = MIMEParser.splitParts(request.body[...], boundary: boundary)
        guard !parts.isEmpty else { return .failure(GateRefusal(GoogleErrors.badRequest("The batch is empty", style: .modern))) }
        guard parts.count <= maxCalls else {
            return .failure(
                GateRefusal(GoogleErrors.badRequest("A batch holds at most \(maxCalls) calls; this one has \(parts.count)", style: .modern))
            )
        }
        let inherited = request.headers.filter { !["content-type", "content-length", "transfer-encoding"].contains($0.name) }
        var calls: [Call] = []
        for (index, part) in parts.enumerated() {
            let (partHeaderBytes, http) = MIMEParser.split(part)
            let partHeaders = MIMEParser.parseHeaders(partHeaderBytes)
            let contentID = partHeaders.first { $0.name.lowercased() == "content-id" }?.value ?? "<\(index + 1)>"
            let (headBytes, body) = MIMEParser.split(http)
            var lines = String(decoding: headBytes, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
            guard !lines.isEmpty else {
                return .failure(GateRefusal(GoogleErrors.badRequest("Call \(contentID) has no request line", style: .modern)))
            }
            let requestLine = lines.removeFirst().split(separator: " ")
            guard requestLine.count >= 2, requestLine[1].hasPrefix("/") else {
                return .failure(GateRefusal(GoogleErrors.badRequest("Call \(contentID) has no method and path", style: .modern)))
            }
            let own = MIMEParser.parseHeaders(headBytes.drop { $0 != 10 })
            let ownNames = Set(own.map { $0.name.lowercased() })
            calls.append(
                Call(
                    contentID: contentID,
                    request: ProviderRequest(
                        method: String(requestLine[0]), target: String(requestLine[1]),
                        headers: inherited.filter { !ownNames.contains($0.name) } + own, body: Array(body))))
        }
        return .success(calls)
    }

    /// The batch's answer: every call's response in a part of its own.
    static func answer(_ answers: [(contentID: String, response: ProviderResponse)], boundary: String) -> ProviderResponse {
        var out: [UInt8] = []
        for (contentID, response) in answers {
            let id = contentID.hasPrefix("<") ? "<response-" + contentID.dropFirst() : "<response-\(contentID)>"
            var head = "--\(boundary)\r\nContent-Type: application/http\r\nContent-ID: \(id)\r\n\r\n"
            head += "HTTP/1.1 \(response.status) \(reason(response.status))\r\n"
            for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
            head += "Content-Length: \(response.body.count)\r\n\r\n"
            out += Array(head.utf8)
            out += response.body
            out += Array("\r\n".utf8)
        }
        out += Array("--\(boundary)--\r\n".utf8)
        return ProviderResponse(status: 200, headers: [("Content-Type", "multipart/mixed; boundary=\(boundary)")], body: out)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
