/// Defaults an ``HTTPClient`` applies to every request that does not override them.
public struct HTTPClientConfiguration: Sendable {
    /// Time allowed to establish the connection, TLS handshake included. Default 10 s.
    public var connectTimeout: Duration
    /// Time allowed for a whole ``HTTPClient/execute(_:)`` exchange. Default 60 s. Not applied to
    /// ``HTTPClient/stream(_:)``, whose bodies may be endless, unless the request sets its own.
    public var totalTimeout: Duration
    /// Largest body ``HTTPClient/execute(_:)`` accepts; a larger one fails with
    /// ``HTTPClientError/Code/tooLarge``. Default 16 MiB.
    public var maxResponseBytes: Int
    /// A PEM file of extra certificate authorities trusted in addition to the system bundle
    /// (for a private CA). Nil trusts the system bundle only.
    public var caFile: String?
    /// The `User-Agent` header sent unless a request sets its own.
    public var userAgent: String

    public init(
        connectTimeout: Duration = .seconds(10),
        totalTimeout: Duration = .seconds(60),
        maxResponseBytes: Int = 16 << 20,
        caFile: String? = nil,
        userAgent: String = "HemoStat"
    ) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
        self.caFile = caFile
        self.userAgent = userAgent
    }
}

extension Duration {
    /// Whole milliseconds, at least 1 for any positive duration (0 means "no limit" to libcurl).
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        if ms.overflow || seconds < 0 { return seconds < 0 ? 1 : Int.max / 2 }
        let total = Int(ms.partialValue) + Int(attoseconds / 1_000_000_000_000_000)
        return max(total, 1)
    }
}
