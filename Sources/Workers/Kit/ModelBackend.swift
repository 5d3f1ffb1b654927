import Contracts
import Foundation
import OutboundHTTP
import Settings
import WorkerRuntime

/// An OpenAI-compatible chat-completions model, asked only where the policy allows `model.call`
/// for the data's level and this model (an external model is bounded by the policy's
/// `external_max_classification`). Every call is audited with the model and its tokens, never
/// the text; any failure (refused, unreachable, an answer that does not validate) is nil, and
/// the caller falls back to its rules.
struct ModelBackend: Sendable {
    let settings: ProviderSettings.Model

    /// The configured model, or nil.
    init?(_ settings: ProviderSettings.Model) {
        guard settings.isConfigured else { return nil }
        self.settings = settings
    }

    var policyModel: PolicyInput.Model { PolicyInput.Model(name: settings.name, external: settings.external) }

    /// Whether data of `level` may go to the model now (audited under `step`).
    func allowed(_ level: Classification, context: HandlerContext, step: String) async throws -> Bool {
        try await context.decide(.modelCall, classification: level, model: policyModel, step: step).decision == .allow
    }

    /// The model's answer to `prompt` (asked for a JSON object when `json`); nil when the model
    /// cannot be reached or does not answer with a completion. Throws only when the call cannot
    /// be audited (the job then waits for the audit log, and its answer is not used).
    func ask(
        system: String, prompt: String, json: Bool, maxTokens: Int, level: Classification, purpose: String, context: HandlerContext,
        step: String
    ) async throws -> String? {
        guard let url = settings.url else { return nil }
        var body: [String: JSONValue] = [
            "model": .string(settings.name), "temperature": .integer(0), "max_tokens": .integer(Int64(maxTokens)),
            "messages": .array([
                .object(["role": .string("system"), "content": .string(system)]),
                .object(["role": .string("user"), "content": .string(prompt)]),
            ]),
        ]
        if json { body["response_format"] = .object(["type": .string("json_object")]) }
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let key = settings.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        // The data left once the request is made: the call is audited whatever comes back.
        var tokens = 0
        var content: String?
        var failure: String?
        do {
            let answer = try await context.send(
                OutboundRequest(
                    method: "POST", url: url + "/chat/completions", headers: headers, body: JSONValue.object(body).canonicalBytes,
                    timeout: settings.timeout, maxResponseBytes: 1 << 20))
            let object = JSONValue.parse(answer.body)?.objectValue
            tokens = object?["usage"]?.objectValue?["total_tokens"]?.integerValue.map(Int.init) ?? 0
            content = object?["choices"]?.arrayValue?.first?.objectValue?["message"]?.objectValue?["content"]?.stringValue
            if answer.status != 200 || content == nil {
                content = nil
                failure = "the model answered \(answer.status) without a completion"
            }
        } catch {
            failure = "the model could not be reached: \(error)"
        }
        var detail: [String: JSONValue] = ["purpose": .string(purpose)]
        if let failure { detail["failure"] = .string(String(failure.prefix(300))) }
        try await context.audit.record(
            .modelCall, step: step, detail: detail, model: (name: settings.name, tokens: tokens), classification: level,
            outcome: failure == nil ? .success : .error)
        if let failure { context.logger.warning("the model gave no answer; the rules decide", metadata: ["error": "\(failure)"]) }
        return content
    }
}
