/// Builds COPY text-format data row by row, escaping values as COPY requires.
public struct PostgresCopyRows: Sendable {
    public private(set) var data: [UInt8] = []
    private var columnInRow = 0

    public init(reservingCapacity capacity: Int = 0) {
        data.reserveCapacity(capacity)
    }

    /// Appends a column value (nil is NULL).
    public mutating func add(_ value: String?) {
        if columnInRow > 0 { data.append(9) }
        columnInRow += 1
        guard var text = value else {
            data.append(UInt8(ascii: "\\"))
            data.append(UInt8(ascii: "N"))
            return
        }
        let plain = text.withUTF8 { bytes -> Bool in
            for byte in bytes where byte == 92 || byte < 14 { return false }
            data.append(contentsOf: bytes)
            return true
        }
        if plain { return }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): data.append(contentsOf: [92, 92])
            case 9: data.append(contentsOf: [92, UInt8(ascii: "t")])
            case 10: data.append(contentsOf: [92, UInt8(ascii: "n")])
            case 13: data.append(contentsOf: [92, UInt8(ascii: "r")])
            default: data.append(byte)
            }
        }
    }

    /// Appends a bindable value in its text form.
    public mutating func add(_ value: some PostgresBindable) { add(value.postgresText) }

    /// Ends the current row.
    public mutating func endRow() {
        data.append(10)
        columnInRow = 0
    }
}
