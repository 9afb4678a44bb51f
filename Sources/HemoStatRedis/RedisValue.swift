/// A reply from Redis, copied out of hiredis' `redisReply` tree.
///
/// Bulk strings stay as raw bytes (Redis is binary-safe); use ``string`` for UTF-8 text.
public enum RedisValue: Sendable, Hashable {
    case null
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case array([RedisValue])

    /// The value as UTF-8 text, for status and bulk replies.
    public var string: String? {
        switch self {
        case .status(let s): return s
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The raw bytes of a bulk or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .status(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// The integer of an integer reply, or of a bulk string holding a decimal number.
    public var integer: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk(let bytes): return Int64(String(decoding: bytes, as: UTF8.self))
        default: return nil
        }
    }

    /// The elements of an array reply.
    public var array: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// True for a nil bulk string or nil array.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The message of an error reply (as returned inside ``RedisClient/pipeline(_:timeout:)``).
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// The error reply as a ``RedisError`` (code `.server`), or `nil` for other replies.
    public var redisError: RedisError? {
        errorMessage.map(RedisError.server)
    }
}

extension RedisValue {
    func requireInteger(_ command: String) throws -> Int {
        guard let value = integer else { throw unexpected(command, expected: "an integer") }
        return Int(value)
    }

    func requireString(_ command: String) throws -> String {
        guard let value = string else { throw unexpected(command, expected: "a string") }
        return value
    }

    func requireArray(_ command: String) throws -> [RedisValue] {
        guard let value = array else { throw unexpected(command, expected: "an array") }
        return value
    }

    func unexpected(_ command: String, expected: String) -> RedisError {
        RedisError(code: .unexpectedReply, message: "\(command) replied with \(kind), expected \(expected)")
    }

    /// The reply type, for error messages (never the content).
    var kind: String {
        switch self {
        case .null: return "nil"
        case .status: return "a status"
        case .error: return "an error"
        case .integer: return "an integer"
        case .bulk: return "a bulk string"
        case .array(let elements): return "an array of \(elements.count)"
        }
    }
}
