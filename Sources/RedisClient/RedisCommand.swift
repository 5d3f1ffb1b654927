/// One Redis command, encoded once into the wire format (RESP) as its arguments are added.
///
/// Encoding up front means a pipeline of thousands of commands is one buffer handed to hiredis,
/// with no per-argument allocation.
public struct RedisCommand: Sendable {
    /// The arguments, each as `$<len>\r\n<bytes>\r\n`.
    private(set) var body: [UInt8]
    /// Number of arguments.
    private(set) var count: Int
    /// The command name, for error messages.
    public let name: String
    /// Set for `EVALSHA` commands so a script missing from Redis' cache can be loaded and retried.
    let script: RedisScript?

    public init(_ name: String, _ arguments: [String] = []) {
        self.name = name
        self.body = []
        self.count = 0
        self.script = nil
        body.reserveCapacity(16 + name.utf8.count + arguments.reduce(0) { $0 + $1.utf8.count + 16 })
        append(name)
        for argument in arguments { append(argument) }
    }

    init(name: String, script: RedisScript) {
        self.name = name
        self.body = []
        self.count = 0
        self.script = script
    }

    /// Appends a text argument.
    public mutating func append(_ argument: String) {
        var argument = argument
        argument.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Appends a binary argument.
    public mutating func append(_ argument: [UInt8]) {
        argument.withUnsafeBytes { append(bytes: $0) }
    }

    /// Appends an integer argument.
    public mutating func append(_ argument: Int64) { append(String(argument)) }

    /// Appends an integer argument.
    public mutating func append(_ argument: Int) { append(String(argument)) }

    /// Appends several text arguments.
    public mutating func append(contentsOf arguments: some Sequence<String>) {
        for argument in arguments { append(argument) }
    }

    private mutating func append(bytes: UnsafeRawBufferPointer) {
        count += 1
        body.append(UInt8(ascii: "$"))
        appendDecimal(bytes.count)
        body.append(13)
        body.append(10)
        body.append(contentsOf: bytes)
        body.append(13)
        body.append(10)
    }

    private mutating func appendDecimal(_ value: Int) {
        if value < 10 {
            body.append(UInt8(ascii: "0") + UInt8(value))
        } else {
            body.append(contentsOf: String(value).utf8)
        }
    }

    /// Writes the complete command (`*<count>\r\n` + arguments) to `buffer`.
    func encode(into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        buffer.append(contentsOf: String(count).utf8)
        buffer.append(13)
        buffer.append(10)
        buffer.append(contentsOf: body)
    }
}
