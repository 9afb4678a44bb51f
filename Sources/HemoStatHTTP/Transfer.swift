import CCurl

/// One request in flight: its easy handle, what has been received so far, and whom to tell.
///
/// `@unchecked Sendable`: a transfer is configured by the caller before it is submitted, and
/// from then on every stored property except ``cancelRequested`` is read and written only on the
/// loop thread of ``CurlMultiLoop`` (libcurl calls the callbacks from `curl_multi_perform` on
/// that thread). ``cancelRequested`` is only touched while holding the loop's lock. Submitting
/// takes that lock, which orders the caller's writes before the loop thread's reads.
final class Transfer: @unchecked Sendable {
    enum Completion {
        case none
        case buffered(CheckedContinuation<HTTPResponse, any Error>)
        case streaming(head: CheckedContinuation<(Int, HTTPHeaders), any Error>?,
                       body: AsyncThrowingStream<[UInt8], any Error>.Continuation)
        case done
    }

    let easy: EasyHandle
    let description: RequestDescription
    /// Limit for buffered bodies; nil for streams.
    let maxBytes: Int?
    var completion: Completion = .none
    var cancelRequested = false

    private var status = 0
    private var headers = HTTPHeaders()
    private var headersComplete = false
    private var body: [UInt8] = []
    private var exceededLimit = false

    init(easy: EasyHandle, description: RequestDescription, maxBytes: Int?) {
        self.easy = easy
        self.description = description
        self.maxBytes = maxBytes
        // The callbacks find this object through an unretained pointer. That is safe because
        // libcurl only calls them from curl_multi_perform while the handle is attached to the
        // multi handle, and CurlMultiLoop holds a strong reference to the transfer for exactly
        // that long (it detaches the handle before dropping the reference).
        let context = Unmanaged.passUnretained(self).toOpaque()
        easy.set(CURLOPT_WRITEDATA, pointer: context)
        easy.set(CURLOPT_HEADERDATA, pointer: context)
        hs_curl_setopt_data_callback(easy.raw, CURLOPT_WRITEFUNCTION) { buffer, size, count, context in
            guard let context else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            return transfer.received(UnsafeRawBufferPointer(start: buffer, count: size * count))
        }
        hs_curl_setopt_data_callback(easy.raw, CURLOPT_HEADERFUNCTION) { buffer, size, count, context in
            guard let context else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            transfer.receivedHeader(UnsafeRawBufferPointer(start: buffer, count: size * count))
            return size * count
        }
    }

    // MARK: libcurl callbacks (loop thread)

    private func received(_ bytes: UnsafeRawBufferPointer) -> Int {
        if !headersComplete { headersDone() }
        switch completion {
        case .streaming(_, let bodyContinuation):
            if case .terminated = bodyContinuation.yield(Array(bytes)) { return 0 }
        default:
            if let maxBytes, body.count + bytes.count > maxBytes {
                exceededLimit = true
                return 0
            }
            body.append(contentsOf: bytes)
        }
        return bytes.count
    }

    private func receivedHeader(_ bytes: UnsafeRawBufferPointer) {
        var bytes = bytes[...]
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") {
            bytes = bytes.dropLast()
        }
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            // A new response head: an interim 1xx response or the final one.
            headers = HTTPHeaders()
            headersComplete = false
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        } else if line.isEmpty {
            if status >= 200 { headersDone() }
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.add(name, value)
        }
    }

    private func headersDone() {
        headersComplete = true
        if case .streaming(let head?, let bodyContinuation) = completion {
            completion = .streaming(head: nil, body: bodyContinuation)
            head.resume(returning: (status, headers))
        }
    }

    // MARK: Completion (loop thread)

    /// The transfer ended with `result`.
    func complete(_ result: CURLcode) {
        if result == CURLE_OK {
            if !headersComplete { headersDone() }
            finish(nil)
        } else {
            finish(error(for: result))
        }
    }

    /// Resumes whoever waits, once; later calls do nothing.
    func finish(_ error: HTTPClientError?) {
        let completion = self.completion
        self.completion = .done
        switch completion {
        case .buffered(let continuation):
            if let error {
                continuation.resume(throwing: error)
            } else {
                continuation.resume(returning: HTTPResponse(status: status, headers: headers, body: body))
            }
        case .streaming(let head, let bodyContinuation):
            if let head {
                if let error {
                    head.resume(throwing: error)
                } else {
                    head.resume(returning: (status, headers))
                }
            }
            if let error {
                bodyContinuation.finish(throwing: error)
            } else {
                bodyContinuation.finish()
            }
        case .none, .done:
            break
        }
    }

    private func error(for result: CURLcode) -> HTTPClientError {
        var detail = easy.errorMessage
        if detail.isEmpty { detail = String(cString: curl_easy_strerror(result)) }
        switch result {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return description.error(.resolve, "could not resolve host \(description.host)", detail: detail)
        case CURLE_COULDNT_CONNECT:
            return description.error(.connect, "could not connect", detail: detail)
        case CURLE_OPERATION_TIMEDOUT:
            return description.error(.timeout, "timed out", detail: detail)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
             CURLE_SSL_SHUTDOWN_FAILED, CURLE_USE_SSL_FAILED, CURLE_SSL_CLIENTCERT:
            return description.error(.tls, "TLS failed", detail: detail)
        case CURLE_FILESIZE_EXCEEDED:
            return description.error(.tooLarge, "response body exceeds \(maxBytes ?? 0) bytes")
        case CURLE_WRITE_ERROR where exceededLimit:
            return description.error(.tooLarge, "response body exceeds \(maxBytes ?? 0) bytes")
        case CURLE_WRITE_ERROR:
            return description.error(.cancelled, "cancelled")
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return description.error(.invalidRequest, "unusable URL", detail: detail)
        case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE,
             CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_BAD_CONTENT_ENCODING:
            return description.error(.protocol, "the exchange broke off", detail: detail)
        default:
            return description.error(.other, "request failed", detail: detail)
        }
    }
}
