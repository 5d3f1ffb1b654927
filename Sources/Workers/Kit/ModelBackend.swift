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
        let answer: OutboundResponse
        do {
            answer = try await context.send(
                OutboundRequest(
                    method: "POST", url: url + "/chat/completions", headers: headers, body: JSONValue.object(body).canonicalBytes,
                    timeout: settings.timeout, maxResponseBytes: 1 << 20))
        } catch {
            context.logger.warning("the model could not be reached; the rules decide", metadata: ["error": "\(error)"])
            return nil
        }
        guard answer.status == 200, let object = JSONValue.parse(answer.body)?.objectValue,
            let content = object["choices"]?.arrayValue?.first?.objectValue?["message"]?.objectValue?["content"]?.stringValue
        else {
            context.logger.warning(
                "the model answered what is not a completion; the rules decide", metadata: ["status": "\(answer.status)"])
            return nil
        }
        let tokens = object["usage"]?.objectValue?["total_tokens"]?.integerValue.map(Int.init) ?? 0
        try await context.audit.record(
            .modelCall, step: step, detail: ["purpose": .string(purpose)], model: (name: settings.name, tokens: tokens),
            classification: level)
        return content
    }
}
