import Foundation

/// The rows of a result, copied out of libpq (the PGresult is freed at once).
public struct PostgresRows: Sendable, Sequence {
    public let columns: [String]
    let values: [[String?]]
    /// Rows affected by INSERT/UPDATE/DELETE (from the command tag).
    public let affected: Int

    public init(columns: [String], values: [[String?]], affected: Int) {
        self.columns = columns
        self.values = values
        self.affected = affected
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    public var first: PostgresRow? { values.isEmpty ? nil : self[0] }

    public subscript(index: Int) -> PostgresRow { PostgresRow(columns: columns, values: values[index]) }

    public func makeIterator() -> some IteratorProtocol<PostgresRow> {
        values.lazy.map { PostgresRow(columns: columns, values: $0) }.makeIterator()
    }
}

/// One row; values are PostgreSQL's text format, read through typed accessors.
public struct PostgresRow: Sendable {
    public let columns: [String]
    public let values: [String?]

    public func string(_ column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else { return nil }
        return values[index]
    }

    public func int(_ column: String) -> Int? { string(column).flatMap { Int($0) } }

    public func int64(_ column: String) -> Int64? { string(column).flatMap { Int64($0) } }

    public func double(_ column: String) -> Double? { string(column).flatMap { Double($0) } }

    public func bool(_ column: String) -> Bool? { string(column).map { $0 == "t" || $0 == "true" } }

    /// A `bytea` column (hex output format).
    public func bytes(_ column: String) -> [UInt8]? { string(column).flatMap { Hex.decode($0) } }

    /// Positional access.
    public subscript(index: Int) -> String? { values[index] }
}

/// Runs statements: a connection, or a transaction on one (what code working on one tenant's
/// tables is given, so a fake can stand in for it).
public protocol PostgresQuerying: Sendable {
    @discardableResult
    func query(_ sql: String, _ parameters: [any PostgresBindable]) async throws -> PostgresRows
}

extension PostgresConnection: PostgresQuerying {}
