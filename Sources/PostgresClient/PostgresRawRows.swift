import CLibPQ

/// A result read in place from libpq's buffer: no copy and no allocation per value. For hot
/// reads of many rows (audit verification); `PostgresRows` is the convenient form.
public struct PostgresRawRows: Sendable {
    let result: ResultHandle
    public let columnCount: Int
    public let count: Int

    init(_ result: OpaquePointer) {
        self.result = ResultHandle(result)
        self.columnCount = Int(PQnfields(result))
        self.count = Int(PQntuples(result))
    }

    /// Calls `body` with the bytes of field (`row`, `column`), or nil for NULL.
    public func withField<T>(_ row: Int, _ column: Int, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
        let pointer = result.pointer
        if PQgetisnull(pointer, Int32(row), Int32(column)) == 1 { return try body(nil) }
        let length = Int(PQgetlength(pointer, Int32(row), Int32(column)))
        return try body(UnsafeRawBufferPointer(start: PQgetvalue(pointer, Int32(row), Int32(column)), count: length))
    }

    /// The field as text (nil for NULL).
    public func string(_ row: Int, _ column: Int) -> String? {
        withField(row, column) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }
}

/// Owns a PGresult. A PGresult is never modified after it is returned, so reading it from
/// several threads is safe; it is freed with the last reference.
final class ResultHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { PQclear(pointer) }
}
