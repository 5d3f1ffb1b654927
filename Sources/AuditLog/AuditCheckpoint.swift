import Contracts
import Crypto
import Foundation
import PostgresClient

/// A signed statement of a chain's head at a moment, kept outside the database. Verification
/// against it detects a truncated chain, or one rewritten consistently by someone who could
/// bypass the application (a database superuser), since they cannot forge the signature.
public struct AuditCheckpoint: Sendable, Equatable, Codable {
    public var tenant: TenantID
    public var seq: Int64
    /// Hex of the head hash.
    public var hashHex: String
    /// ISO 8601.
    public var createdAt: String
    /// Hex HMAC-SHA256 over the other fields.
    public var signature: String

    public var hash: [UInt8] { Hex.decode(hashHex) ?? [] }

    enum CodingKeys: String, CodingKey {
        case tenant, seq
        case hashHex = "hash"
        case createdAt = "created_at"
        case signature
    }

    /// The environment variable holding the signing key.
    public static let keyVariable = "OC_AUDIT_CHECKPOINT_KEY"

    /// The signing key from the environment, or a clear error saying how to set it.
    public static func key(from environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SymmetricKey {
        guard let value = environment[keyVariable], value.utf8.count >= 16 else {
            throw FleetError(
                .invalidConfiguration,
                "set \(keyVariable) to a secret of at least 16 characters (e.g. `openssl rand -hex 32`); checkpoints are signed with it")
        }
        return SymmetricKey(data: Data(value.utf8))
    }

    static func message(tenant: TenantID, seq: Int64, hashHex: String, createdAt: String) -> Data {
        Data("oc-audit-checkpoint-v1|\(tenant.rawValue)|\(seq)|\(hashHex)|\(createdAt)".utf8)
    }

    public init(tenant: TenantID, seq: Int64, hash: [UInt8], createdAt: Date = Date(), key: SymmetricKey) {
        self.tenant = tenant
        self.seq = seq
        self.hashHex = Hex.encode(hash)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        self.createdAt = formatter.string(from: createdAt)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Self.message(tenant: tenant, seq: seq, hashHex: hashHex, createdAt: self.createdAt), using: key)
        self.signature = Hex.encode(Array(mac))
    }

    /// Whether the signature is valid for `key`.
    public func isAuthentic(key: SymmetricKey) -> Bool {
        guard let mac = Hex.decode(signature) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: Self.message(tenant: tenant, seq: seq, hashHex: hashHex, createdAt: createdAt), using: key)
    }

    /// Checkpoints of the heads of `tenants` (every chain when nil), as JSON lines.
    public static func capture(store: AuditStore, tenants: [TenantID]? = nil, key: SymmetricKey) async throws -> [AuditCheckpoint] {
        var selected = tenants ?? []
        if tenants == nil { selected = try await store.tenants() }
        var out: [AuditCheckpoint] = []
        for tenant in selected {
            let head = try await store.head(tenant: tenant)
            out.append(AuditCheckpoint(tenant: tenant, seq: head.seq, hash: head.hash, key: key))
        }
        return out
    }

    /// Reads checkpoints written as JSON lines.
    public static func read(_ data: Data) throws -> [AuditCheckpoint] {
        let decoder = JSONDecoder()
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.isEmpty }.map {
            try decoder.decode(AuditCheckpoint.self, from: Data($0.utf8))
        }
    }

    /// One JSON line.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
