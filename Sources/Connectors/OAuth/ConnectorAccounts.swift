import Contracts
import Crypto
import Foundation
import PostgresClient

/// A connected account: its tokens (decrypted), who it is at the provider and its sync state.
public struct ConnectorAccount: Sendable {
    public var user: String
    public var connector: Connector
    /// Who the account is at the provider (an address, a login), when known.
    public var account: String
    /// Provider facts the clients need (Jira's cloud id and site).
    public var details: [String: JSONValue]
    public var tokens: OAuthTokens
    public var reauthRequired: Bool
}

/// What `GET /v1/connectors` shows of one connector (no secrets).
public struct ConnectorSummary: Sendable, Encodable {
    public var connector: String
    public var connected: Bool
    public var account: String?
    public var scopes: [String]
    public var lastSyncAt: String?
    public var items: Int
    public var lastError: String?
    public var reauthRequired: Bool

    enum CodingKeys: String, CodingKey {
        case connector, connected, account, scopes, items
        case lastSyncAt = "last_sync_at"
        case lastError = "last_error"
        case reauthRequired = "reauth_required"
    }
}

/// Connected accounts and OAuth states in a tenant's schema, tokens sealed by the secret box.
public struct ConnectorAccounts: Sendable {
    public let tenant: TenantID
    let secrets: SecretBox

    public init(tenant: TenantID, secrets: SecretBox) {
        self.tenant = tenant
        self.secrets = secrets
    }

    private func context(_ user: String, _ connector: Connector, _ field: String) -> String {
        "\(tenant.rawValue)/\(user)/\(connector.rawValue)/\(field)"
    }

    // MARK: OAuth states

    /// A single-use state for `user` connecting `connector`, valid `lifetime`: the state given
    /// to the provider (`<tenant>.<random>`: the callback finds the tenant in it) and stored only
    /// as its hash, with the PKCE verifier sealed beside it.
    public func createState(
        _ sql: any PostgresQuerying, user: String, connector: Connector, verifier: String?, lifetime: Duration
    )
        async throws -> String
    {
        let random = OAuthFlow.base64URL(Array(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }))
        let state = "\(tenant.rawValue).\(random)"
        try await sql.query(
            """
            INSERT INTO oauth_states (state_hash, user_id, connector, key_id, code_verifier, expires_at)
            VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
            """,
            [
                PostgresBytes(Self.hash(state)), user, connector.rawValue, secrets.currentKeyID,
                try verifier.map { PostgresBytes(try secrets.seal($0, context: context(user, connector, "verifier"))) },
                Double(lifetime.milliseconds) / 1000,
            ])
        return state
    }

    /// Uses up a state: its user and PKCE verifier when it is this connector's, unused and
    /// unexpired; nil otherwise (a second use finds nothing).
    public func consumeState(
        _ sql: any PostgresQuerying, state: String, connector: Connector
    ) async throws -> (
        user: String, verifier: String?
    )? {
        guard
            let row = try await sql.query(
                """
                UPDATE oauth_states SET used_at = now()
                WHERE state_hash = $1 AND connector = $2 AND used_at IS NULL AND expires_at > now()
                RETURNING user_id, key_id, code_verifier
                """, [PostgresBytes(Self.hash(state)), connector.rawValue]
            ).first, let user = row.string("user_id")
        else { return nil }
        let verifier = try row.bytes("code_verifier").map {
            try secrets.open($0, keyID: row.string("key_id") ?? "", context: context(user, connector, "verifier"))
        }
        return (user, verifier)
    }

    static func hash(_ state: String) -> [UInt8] { Array(SHA256.hash(data: Array(state.utf8))) }

    // MARK: Accounts

    /// Stores a newly connected account (replacing an earlier connection of the same connector).
    public func connect(
        _ sql: any PostgresQuerying, user: String, connector: Connector, tokens: OAuthTokens, account: String, details: [String: JSONValue]
    ) async throws {
        try await sql.query(
            """
            INSERT INTO connector_accounts (user_id, connector, account, details, scopes, key_id, access_token, refresh_token,
                access_expires_at, status, last_error)
            VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, 'connected', NULL)
            ON CONFLICT (user_id, connector) DO UPDATE SET account = $3, details = $4::jsonb, scopes = $5, key_id = $6,
                access_token = $7, refresh_token = $8, access_expires_at = $9, status = 'connected', last_error = NULL, updated_at = now()
            """,
            [
                user, connector.rawValue, account, String(decoding: JSONValue.object(details).canonicalBytes, as: UTF8.self), tokens.scope,
                secrets.currentKeyID, PostgresBytes(try secrets.seal(tokens.accessToken, context: context(user, connector, "access"))),
                try tokens.refreshToken.map { PostgresBytes(try secrets.seal($0, context: context(user, connector, "refresh"))) },
                tokens.expiresAt.map { PostgresTimestamp($0) },
            ])
    }

    /// The account `user` connected for `connector`, tokens opened; nil when not connected.
    public func load(_ sql: any PostgresQuerying, user: String, connector: Connector) async throws -> ConnectorAccount? {
        try await load(sql, user: user, connector: connector, withCursor: false)?.account
    }

    /// The account with its stored sync cursor (nil: never synced), read in one statement.
    public func loadForSync(
        _ sql: any PostgresQuerying, user: String, connector: Connector
    ) async throws -> (account: ConnectorAccount, cursor: SyncCursor?)? {
        try await load(sql, user: user, connector: connector, withCursor: true)
    }

    private func load(
        _ sql: any PostgresQuerying, user: String, connector: Connector, withCursor: Bool
    ) async throws -> (account: ConnectorAccount, cursor: SyncCursor?)? {
        let cursorColumn =
            withCursor ? ", (SELECT c.cursor::text FROM sync_cursors c WHERE c.user_id = $1 AND c.connector = $2) AS cursor" : ""
        guard
            let row = try await sql.query(
                """
                SELECT account, details::text AS details, scopes, key_id, access_token, refresh_token,
                    (extract(epoch FROM access_expires_at) * 1000)::bigint AS expires_ms, status\(cursorColumn)
                FROM connector_accounts WHERE user_id = $1 AND connector = $2
                """, [user, connector.rawValue]
            ).first
        else { return nil }
        let keyID = row.string("key_id") ?? ""
        let access = try secrets.open(row.bytes("access_token") ?? [], keyID: keyID, context: context(user, connector, "access"))
        let refresh = try row.bytes("refresh_token").map {
            try secrets.open($0, keyID: keyID, context: context(user, connector, "refresh"))
        }
        let account = ConnectorAccount(
            user: user, connector: connector, account: row.string("account") ?? "",
            details: row.string("details").flatMap { JSONValue.parse(Array($0.utf8))?.objectValue } ?? [:],
            tokens: OAuthTokens(
                accessToken: access, refreshToken: refresh, expiresAt: row.int64("expires_ms").map { Clock.date(milliseconds: $0) },
                scope: row.string("scopes") ?? ""),
            reauthRequired: row.string("status") == "reauth_required")
        return (account, withCursor ? row.string("cursor").flatMap(SyncCursor.init(stored:)) : nil)
    }

    /// Stores refreshed tokens (a rotated refresh token replaces the old one in the same
    /// statement: it is never lost).
    public func updateTokens(_ sql: any PostgresQuerying, user: String, connector: Connector, tokens: OAuthTokens) async throws {
        try await sql.query(
            """
            UPDATE connector_accounts SET key_id = $3, access_token = $4, refresh_token = $5, access_expires_at = $6, updated_at = now()
            WHERE user_id = $1 AND connector = $2
            """,
            [
                user, connector.rawValue, secrets.currentKeyID,
                PostgresBytes(try secrets.seal(tokens.accessToken, context: context(user, connector, "access"))),
                try tokens.refreshToken.map { PostgresBytes(try secrets.seal($0, context: context(user, connector, "refresh"))) },
                tokens.expiresAt.map { PostgresTimestamp($0) },
            ])
    }

    /// Marks the account as needing the user to connect it again (a dead grant): its jobs stop.
    public func requireReauthorization(_ sql: any PostgresQuerying, user: String, connector: Connector, why: String) async throws {
        try await sql.query(
            "UPDATE connector_accounts SET status = 'reauth_required', last_error = $3, updated_at = now() WHERE user_id = $1 AND connector = $2",
            [user, connector.rawValue, why])
    }

    /// Records how a sync ended (nil error: it succeeded).
    /// - Parameter itemsChanged: whether the items may have changed since the last count (false:
    ///   the stored count is kept, not counted again).
    public func recordSync(
        _ sql: any PostgresQuerying, user: String, connector: Connector, error: String?, itemsChanged: Bool = true
    ) async throws {
        let count = itemsChanged ? "items = (SELECT count(*) FROM items WHERE user_id = $1 AND connector = $2), " : ""
        try await sql.query(
            """
            UPDATE connector_accounts SET last_error = $3, last_sync_at = CASE WHEN $3::text IS NULL THEN now() ELSE last_sync_at END,
                \(count)updated_at = now()
            WHERE user_id = $1 AND connector = $2
            """, [user, connector.rawValue, error])
    }

    /// Forgets a connection: its tokens, its cursor and the items it synced.
    public func disconnect(_ sql: any PostgresQuerying, user: String, connector: Connector) async throws -> Bool {
        let removed = try await sql.query(
            "DELETE FROM connector_accounts WHERE user_id = $1 AND connector = $2 RETURNING user_id", [user, connector.rawValue])
        try await sql.query("DELETE FROM sync_cursors WHERE user_id = $1 AND connector = $2", [user, connector.rawValue])
        try await sql.query("DELETE FROM items WHERE user_id = $1 AND connector = $2", [user, connector.rawValue])
        return !removed.isEmpty
    }

    /// Every connector, connected or not, as `user` sees them.
    public func summaries(_ sql: any PostgresQuerying, user: String) async throws -> [ConnectorSummary] {
        var found: [Connector: PostgresRow] = [:]
        for row in try await sql.query(
            """
            SELECT connector, account, scopes, status, last_error, items,
                to_char(last_sync_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_sync_at
            FROM connector_accounts WHERE user_id = $1
            """, [user])
        {
            if let connector = row.string("connector").flatMap(Connector.init(rawValue:)) { found[connector] = row }
        }
        return Connector.allCases.map { connector in
            guard let row = found[connector] else {
                return ConnectorSummary(
                    connector: connector.rawValue, connected: false, scopes: [], items: 0, reauthRequired: false)
            }
            return ConnectorSummary(
                connector: connector.rawValue, connected: true, account: row.string("account").flatMap { $0.isEmpty ? nil : $0 },
                scopes: (row.string("scopes") ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init),
                lastSyncAt: row.string("last_sync_at"), items: row.int("items") ?? 0, lastError: row.string("last_error"),
                reauthRequired: row.string("status") == "reauth_required")
        }
    }

    /// Seals again, with the current key, every secret sealed with a retired one; returns how
    /// many rows changed.
    public func rotate(_ sql: any PostgresQuerying) async throws -> Int {
        var changed = 0
        for row in try await sql.query(
            "SELECT user_id, connector FROM connector_accounts WHERE key_id <> $1", [secrets.currentKeyID])
        {
            guard let user = row.string("user_id"), let connector = row.string("connector").flatMap(Connector.init(rawValue:)),
                let account = try await load(sql, user: user, connector: connector)
            else { continue }
            try await updateTokens(sql, user: user, connector: connector, tokens: account.tokens)
            changed += 1
        }
        return changed
    }
}
