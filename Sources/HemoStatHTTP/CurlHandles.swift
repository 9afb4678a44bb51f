import CCurl

/// libcurl's process-wide initialisation, run once before the first handle is made.
enum CurlGlobal {
    static let initialised: Bool = hs_curl_global_init() == CURLE_OK
}

/// Owns one `CURL*` easy handle and the header list attached to it.
final class EasyHandle {
    let raw: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// CURLOPT_ERRORBUFFER: libcurl writes a NUL-terminated message here on failure.
    let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        _ = CurlGlobal.initialised
        guard let raw = curl_easy_init() else { return nil }
        self.raw = raw
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        hs_curl_setopt_ptr(raw, CURLOPT_ERRORBUFFER, errorBuffer)
    }

    deinit {
        curl_easy_cleanup(raw)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    @discardableResult
    func set(_ option: CURLoption, _ value: Int) -> Bool {
        hs_curl_setopt_long(raw, option, value) == CURLE_OK
    }

    /// String options are copied by libcurl (since 7.17), so the Swift string need not outlive
    /// the call.
    @discardableResult
    func set(_ option: CURLoption, _ value: String) -> Bool {
        value.withCString { hs_curl_setopt_ptr(raw, option, $0) } == CURLE_OK
    }

    @discardableResult
    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) -> Bool {
        hs_curl_setopt_ptr(raw, option, pointer) == CURLE_OK
    }

    @discardableResult
    func setLarge(_ option: CURLoption, _ value: Int64) -> Bool {
        hs_curl_setopt_off(raw, option, curl_off_t(value)) == CURLE_OK
    }

    /// CURLOPT_COPYPOSTFIELDS after CURLOPT_POSTFIELDSIZE_LARGE: libcurl keeps its own copy.
    func setBody(_ bytes: [UInt8]) {
        setLarge(CURLOPT_POSTFIELDSIZE_LARGE, Int64(bytes.count))
        if bytes.isEmpty {
            "".withCString { _ = hs_curl_setopt_ptr(raw, CURLOPT_COPYPOSTFIELDS, $0) }
        } else {
            bytes.withUnsafeBytes { _ = hs_curl_setopt_ptr(raw, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        }
    }

    func setBlob(_ option: CURLoption, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { hs_curl_setopt_blob_copy(raw, option, $0.baseAddress, $0.count) } == CURLE_OK
    }

    /// Sets CURLOPT_HTTPHEADER; the list lives as long as this handle.
    func setHeaders(_ lines: [String]) {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            list = curl_slist_append(list, line)
        }
        curl_slist_free_all(headerList)
        headerList = list
        hs_curl_setopt_ptr(raw, CURLOPT_HTTPHEADER, list)
    }

    var errorMessage: String {
        String(cString: errorBuffer)
    }
}
