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
}
