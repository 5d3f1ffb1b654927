import Foundation

/// Where and how to connect to Redis.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// Connect timeout and the timeout for one command's reply.
    public var commandTimeout: Duration
    /// Connections in the pool. Each is pipelined, so a few carry a whole process.
    public var poolSize: Int
    /// Longest wait between reconnect attempts.
    public var maxReconnectBackoff: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, commandTimeout: Duration = .seconds(5), poolSize: Int = 2,
        maxReconnectBackoff: Duration = .seconds(2)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
        self.maxReconnectBackoff = maxReconnectBackoff
    }

    /// Parses `redis://[user:password@]host:port/db` (also `redis://:password@host`).
    public init(url: String) throws(RedisError) {
        guard let components = URLComponents(string: url), components.scheme == "redis" else {
            throw RedisError(
                .configuration, operation: "parse url",
                message: "'\(url)' is not a redis:// URL; expected redis://[user:password@]host:port/db")
        }
        self.init()
        if let host = components.host, !host.isEmpty { self.host = host }
        if let port = components.port { self.port = port }
        if let user = components.user, !user.isEmpty { username = user.removingPercentEncoding ?? user }
        if let password = components.password, !password.isEmpty { self.password = password.removingPercentEncoding ?? password }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else {
                throw RedisError(.configuration, operation: "parse url", message: "database '\(path)' in '\(url)' is not a number")
            }
            database = db
        }
    }
}
