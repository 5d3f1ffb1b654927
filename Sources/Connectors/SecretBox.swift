import Contracts
import Crypto
import Foundation
import Settings

/// Encrypts secrets at rest (OAuth access and refresh tokens, PKCE verifiers): AES-256-GCM with
/// the current key, each sealed value bound to where it belongs (its tenant, user, connector and
/// field, as associated data) so a value copied to another row does not open. Every sealed value
/// is stored with its key's id, so keys can be rotated: retired keys still open what they
/// sealed until `Dispatcher secrets rotate` has sealed it again with the current key.
///
/// The key comes from `OC_SECRETS_KEY` (base64 of 32 bytes) or the file `OC_SECRETS_KEY_FILE`
/// (a mounted Kubernetes Secret); retired keys from `OC_SECRETS_RETIRED_KEYS` (comma-separated).
/// Secrets never appear in logs, Redis, audit entries, job payloads or error messages.
public struct SecretBox: Sendable {
    public let currentKeyID: String
    private let keys: [String: SymmetricKey]

    public init(current: [UInt8], retired: [[UInt8]] = []) throws(FleetError) {
        guard current.count == 32, retired.allSatisfy({ $0.count == 32 }) else {
            throw FleetError(.invalidConfiguration, "a secrets key is 32 bytes (give it base64-encoded, e.g. `openssl rand -base64 32`)")
        }
        var keys: [String: SymmetricKey] = [:]
        for key in [current] + retired { keys[Self.keyID(key)] = SymmetricKey(data: key) }
        self.keys = keys
        currentKeyID = Self.keyID(current)
    }

    /// The box configured by `values`; fails with what to set when no key is configured.
    public static func load(_ values: ConfigurationValues) throws(FleetError) -> SecretBox {
        var encoded = values.string("secrets_key")
        if encoded == nil, let path = values.string("secrets_key_file") {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw FleetError(.invalidConfiguration, "cannot read secrets_key_file \(path)")
            }
            encoded = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let encoded else {
            throw FleetError(
                .invalidConfiguration,
                "no key to encrypt connector tokens with: set OC_SECRETS_KEY (base64 of 32 random bytes) or OC_SECRETS_KEY_FILE")
        }
        guard let current = Data(base64Encoded: encoded) else { throw values.invalid("secrets_key", expected: "base64 of 32 bytes") }
        var retired: [[UInt8]] = []
        for text in values.list("secrets_retired_keys") ?? [] {
            guard let key = Data(base64Encoded: text) else { throw values.invalid("secrets_retired_keys", expected: "base64 keys") }
            retired.append(Array(key))
        }
        return try SecretBox(current: Array(current), retired: retired)
    }

    /// A short public id of a key (the first 8 bytes of its SHA-256, hex).
    public static func keyID(_ key: [UInt8]) -> String {
        SHA256.hash(data: key).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Seals `plaintext` for `context` with the current key.
    public func seal(_ plaintext: String, context: String) throws -> [UInt8] {
        let sealed = try AES.GCM.seal(Array(plaintext.utf8), using: keys[currentKeyID]!, authenticating: Array(context.utf8))
        return Array(sealed.combined!)
    }

    /// Opens a value sealed with key `keyID` for `context`.
    public func open(_ sealed: [UInt8], keyID: String, context: String) throws(FleetError) -> String {
        guard let key = keys[keyID] else {
            throw FleetError(
                .invalidConfiguration, "a secret is sealed with key \(keyID), which is not configured (add it to OC_SECRETS_RETIRED_KEYS)")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return String(decoding: try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)), as: UTF8.self)
        } catch {
            throw FleetError(.internal, "a stored secret does not open with its key (altered, or moved to another row)")
        }
    }

    /// Whether a value sealed with `keyID` should be sealed again (with the current key).
    public func isRetired(_ keyID: String) -> Bool { keyID != currentKeyID }
}
