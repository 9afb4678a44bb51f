public import Foundation

/// A complete response from ``HTTPClient/execute(_:)``. Any status is a response, not an error.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// True for 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Decodes the body as JSON.
    public func decode<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(T.self, from: Data(body))
    }
}

/// A response whose body arrives as it is received, from ``HTTPClient/stream(_:)``.
///
/// Chunks are delivered in order as libcurl receives them (chunk boundaries are not message
/// boundaries: use ``lines()`` for line-delimited formats). The transfer is aborted when the
/// consuming task is cancelled, or when the body stream is released without being read to the
/// end. Chunks not yet consumed are buffered in memory.
public struct HTTPStreamingResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: AsyncThrowingStream<[UInt8], any Error>

    public init(status: Int, headers: HTTPHeaders, body: AsyncThrowingStream<[UInt8], any Error>) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body split into lines (LF or CRLF), without terminators; empty lines are skipped.
    /// A final line without a terminator is delivered when the body ends.
    public func lines() -> AsyncThrowingStream<[UInt8], any Error> {
        body.lines()
    }

    /// Reads the whole body (for an error response on a streaming request), up to `limit` bytes.
    public func collect(upTo limit: Int = 1 << 20) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body {
            bytes += chunk.prefix(limit - bytes.count)
            if bytes.count >= limit { break }
        }
        return bytes
    }
}

extension AsyncThrowingStream where Element == [UInt8], Failure == any Error {
    /// Splits a byte stream into lines (LF or CRLF), skipping empty lines, e.g. for JSON lines.
    /// Cancelling the consumer of the result, or releasing it, releases this stream.
    public func lines() -> AsyncThrowingStream<[UInt8], any Error> {
        let splitter = LineSplitter(iterator: makeAsyncIterator())
        return AsyncThrowingStream(unfolding: { try await splitter.next() })
    }
}

/// State of one line-splitting consumer. `@unchecked Sendable`: an `AsyncThrowingStream` calls
/// its unfolding closure for one `next()` at a time, so this is never used concurrently.
private final class LineSplitter: @unchecked Sendable {
    var iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
    var buffer: [UInt8] = []
    var finished = false

    init(iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator) {
        self.iterator = iterator
    }

    func next() async throws -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if line.isEmpty { continue }
                return line
            }
            if finished {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return buffer
            }
            if let chunk = try await iterator.next() {
                buffer += chunk
            } else {
                finished = true
            }
        }
    }
}
