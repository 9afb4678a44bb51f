import Foundation

/// Builds "system bundle plus extra CAs" trust stores. libcurl's CURLOPT_CAINFO replaces the
/// system bundle, so the extra PEM file is appended to the system bundle and handed to libcurl
/// as CURLOPT_CAINFO_BLOB. Bundles are read once per extra file and cached.
final class CABundleCache: @unchecked Sendable {
    // @unchecked Sendable: `bundles` is only touched while holding `lock`.
    private let lock = NSLock()
    private var bundles: [String: [UInt8]] = [:]

    static let systemBundlePaths = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ]

    /// The system bundle followed by the PEM certificates in `extraFile`.
    func bundle(extraFile: String) throws -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if let cached = bundles[extraFile] { return cached }
        guard let extra = FileManager.default.contents(atPath: extraFile) else {
            throw HTTPClientError(code: .tls, message: "cannot read the CA file \(extraFile)")
        }
        var bytes: [UInt8] = []
        if let system = Self.systemBundlePaths.lazy.compactMap({ FileManager.default.contents(atPath: $0) }).first {
            bytes += system
            if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        }
        bytes += extra
        bundles[extraFile] = bytes
        return bytes
    }
}
