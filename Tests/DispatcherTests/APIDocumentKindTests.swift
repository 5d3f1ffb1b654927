import Contracts
import Foundation
import Testing

@testable import Dispatcher

/// The API document describes each kind of the catalog: a job schema per kind in the `oneOf` of
/// `JobRequest`, with its actions, and the kind's payload schema, field by field.
@Suite struct APIDocumentKindTests {
    static func schemaName(_ kind: JobKind) -> String {
        kind.rawValue.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The JSON schema of one payload field.
    static func schema(_ field: PayloadSchema.Field) -> [String: Any] {
        var out: [String: Any] = ["description": field.summary]
        switch field.type {
        case .string(let maxLength, let values):
            out["type"] = "string"
            out["maxLength"] = maxLength
            if let values { out["enum"] = values }
        case .date:
            out["type"] = "string"
            out["format"] = "date"
        case .integer(let range):
            out["type"] = "integer"
            out["minimum"] = range.lowerBound
            out["maximum"] = range.upperBound
        case .boolean: out["type"] = "boolean"
        case .object: out["type"] = "object"
        }
        return out
    }

    /// What the document must say of `contract`: its payload schema and its job schema.
    static func expected(_ contract: any KindContract.Type) -> (payload: [String: Any], job: [String: Any]) {
        func open<C: KindContract>(_ contract: C.Type) -> (payload: [String: Any], job: [String: Any]) {
            let fields = C.Payload.schema.fields
            var payload: [String: Any] = [
                "type": "object", "additionalProperties": false, "description": C.summary,
                "properties": Dictionary(uniqueKeysWithValues: fields.map { ($0.name, schema($0)) }),
            ]
            let required = fields.filter(\.required).map(\.name).sorted()
            if !required.isEmpty { payload["required"] = required }
            let action: [String: Any] =
                C.actions.map { ["type": "string", "enum": $0.map(\.rawValue).sorted()] }
                ?? ["type": "string", "pattern": "^[a-z0-9_]+\\.[a-z0-9_]+$"]
            let job: [String: Any] = [
                "type": "object", "additionalProperties": false,
                "required": required.isEmpty ? ["action", "kind"] : ["action", "kind", "payload"],
                "properties": [
                    "kind": ["const": C.kind.rawValue], "action": action,
                    "payload": ["$ref": "#/components/schemas/\(schemaName(C.kind))Payload"],
                    "classification": ["$ref": "#/components/schemas/Classification"],
                    "run_at": ["type": "string", "format": "date-time"],
                ],
            ]
            return (payload, job)
        }
        return open(contract)
    }

    @Test func everyKindHasItsSchemasInTheDocument() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.data) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let request = try #require(schemas["JobRequest"] as? [String: Any])
        let listed = (request["oneOf"] as? [[String: Any]] ?? []).compactMap { $0["$ref"] as? String }
        var wanted: [String: Any] = [:]
        for contract in KindCatalog.contracts {
            let name = Self.schemaName(contract.kind)
            let (payload, job) = Self.expected(contract)
            wanted[name + "Payload"] = payload
            wanted[name + "Job"] = job
            #expect(listed.contains("#/components/schemas/\(name)Job"), "JobRequest.oneOf lacks \(name)Job")
            #expect(
                (schemas[name + "Payload"] as? NSDictionary) == payload as NSDictionary,
                "the document's \(name)Payload is not the catalog's")
            #expect((schemas[name + "Job"] as? NSDictionary) == job as NSDictionary, "the document's \(name)Job is not the catalog's")
            let mapping = (request["discriminator"] as? [String: Any])?["mapping"] as? [String: String]
            #expect(mapping?[contract.kind.rawValue] == "#/components/schemas/\(name)Job")
        }
        #expect(listed.count == KindCatalog.contracts.count)
        // On a mismatch, what the catalog says (to put into openapi.json).
        if let path = ProcessInfo.processInfo.environment["OC_WRITE_KIND_SCHEMAS"] {
            try JSONSerialization.data(withJSONObject: wanted, options: [.sortedKeys, .prettyPrinted]).write(to: URL(fileURLWithPath: path))
        }
    }
}
