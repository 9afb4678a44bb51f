import CCurl
import Foundation
public import Logging

/// An HTTP/1.1 and HTTPS client on libcurl, for TCP hosts and unix domain sockets.
///
/// All requests of one client share one dedicated thread running a libcurl multi loop, so
/// hundreds of concurrent requests cost one thread and never block Swift's cooperative pool.
/// Connections are reused across requests. Redirects are not followed.
///
/// Call ``shutdown()`` when done (deinit does it too): transfers still running then fail with
/// ``HTTPClientError/Code/cancelled``.
public final class HTTPClient: Sendable {
    public let configuration: HTTPClientConfiguration
    private let loop: CurlMultiLoop
    private let logger: Logger
    private let caBundles = CABundleCache()

    public init(configuration: HTTPClientConfiguration = .init(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        loop = CurlMultiLoop(logger: logger)
    }

    deinit {
        loop.shutdown()
    }

    /// Stops the client's thread; later requests fail with ``HTTPClientError/Code/cancelled``.
    public func shutdown() {
        loop.shutdown()
    }

    /// Sends `request` and returns the whole response, whatever its status.
    ///
    /// Throws ``HTTPClientError`` when no response arrived (see its codes), including when the
    /// calling task is cancelled, which aborts the transfer.
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let description = RequestDescription(request)
        if Task.isCancelled { throw description.error(.cancelled, "cancelled") }
        let transfer = try makeTransfer(request, description: description, streaming: false)
        let loop = self.loop
        logger.trace("HTTP request", metadata: ["http.method": "\(description.method)", "http.host": "\(description.target)"])
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.completion = .buffered(continuation)
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
    }

    /// Sends `request` and returns as soon as the response headers arrive; the body follows
    /// incrementally in ``HTTPStreamingResponse/body``.
    ///
    /// No total timeout applies unless the request sets ``HTTPRequest/timeout``. The transfer is
    /// aborted when the task consuming the body is cancelled or the body stream is released.
    /// A failure after the headers ends the body stream with an ``HTTPClientError``.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let description = RequestDescription(request)
        if Task.isCancelled { throw description.error(.cancelled, "cancelled") }
        let transfer = try makeTransfer(request, description: description, streaming: true)
        let loop = self.loop
        let (inner, bodyContinuation) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        bodyContinuation.onTermination = { [weak loop, weak transfer] termination in
            if case .cancelled = termination, let loop, let transfer {
                loop.cancel(transfer)
            }
        }
        let (status, headers) = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.completion = .streaming(head: continuation, body: bodyContinuation)
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
        let reader = StreamReader(iterator: inner.makeAsyncIterator(), loop: loop, transfer: transfer)
        return HTTPStreamingResponse(
            status: status,
            headers: headers,
            body: AsyncThrowingStream(unfolding: { try await reader.next() })
        )
    }

    private func makeTransfer(_ request: HTTPRequest, description: RequestDescription, streaming: Bool) throws -> Transfer {
        let scheme = request.url.prefix { $0 != ":" }.lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw description.error(.invalidRequest, "only http and https URLs are supported")
        }
        guard let easy = EasyHandle() else {
            throw description.error(.other, "libcurl could not create a handle")
        }
        easy.set(CURLOPT_URL, request.url)
        easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        easy.set(CURLOPT_NOSIGNAL, 1)
        easy.set(CURLOPT_TCP_KEEPALIVE, 1)
        easy.set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        easy.set(CURLOPT_ACCEPT_ENCODING, "")
        easy.set(CURLOPT_CONNECTTIMEOUT_MS, (request.connectTimeout ?? configuration.connectTimeout).curlMilliseconds)
        if let timeout = request.timeout ?? (streaming ? nil : configuration.totalTimeout) {
            easy.set(CURLOPT_TIMEOUT_MS, timeout.curlMilliseconds)
        }
        if !streaming {
            easy.setLarge(CURLOPT_MAXFILESIZE_LARGE, Int64(configuration.maxResponseBytes))
        }
        if let socket = request.unixSocketPath {
            easy.set(CURLOPT_UNIX_SOCKET_PATH, socket)
        }
        if let caFile = request.caFile ?? configuration.caFile {
            let bundle: [UInt8]
            do {
                bundle = try caBundles.bundle(extraFile: caFile)
            } catch {
                throw description.error(.tls, "cannot read the CA file")
            }
            guard easy.setBlob(CURLOPT_CAINFO_BLOB, bundle) else {
                throw description.error(.tls, "libcurl rejected the CA bundle")
            }
        }

        switch request.method {
        case .get:
            easy.set(CURLOPT_HTTPGET, 1)
        case .head:
            easy.set(CURLOPT_NOBODY, 1)
        case .post:
            easy.set(CURLOPT_POST, 1)
            easy.setBody(request.body)
        default:
            easy.set(CURLOPT_CUSTOMREQUEST, request.method.rawValue)
            if !request.body.isEmpty || request.method == .put {
                easy.setBody(request.body)
            }
        }

        var lines: [String] = []
        for field in request.headers {
            // "Name;" is libcurl's way to send a header with an empty value.
            lines.append(field.value.isEmpty ? "\(field.name);" : "\(field.name): \(field.value)")
        }
        if request.headers["User-Agent"] == nil {
            lines.append("User-Agent: \(configuration.userAgent)")
        }
        if request.headers["Content-Type"] == nil {
            // Keep libcurl from labelling bodies application/x-www-form-urlencoded.
            lines.append("Content-Type:")
        }
        if request.headers["Expect"] == nil {
            lines.append("Expect:")
        }
        easy.setHeaders(lines)

        return Transfer(easy: easy, description: description, maxBytes: streaming ? nil : configuration.maxResponseBytes)
    }
}

/// Reads the body of one streaming transfer for ``HTTPStreamingResponse/body``, and aborts the
/// transfer when released (the consumer dropped the stream or was cancelled).
///
/// `@unchecked Sendable`: an `AsyncThrowingStream` calls its unfolding closure for one `next()`
/// at a time, so the iterator is never used concurrently; `loop` and `transfer` are Sendable.
private final class StreamReader: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
    private let loop: CurlMultiLoop
    private let transfer: Transfer

    init(iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator, loop: CurlMultiLoop, transfer: Transfer) {
        self.iterator = iterator
        self.loop = loop
        self.transfer = transfer
    }

    deinit {
        loop.cancel(transfer)
    }

    func next() async throws -> [UInt8]? {
        try await iterator.next()
    }
}
