import HTTPTypes
import Hummingbird
public import Logging
public import Prometheus
public import ServiceLifecycle

/// `/metrics` and `/healthz` alone, for an agent run as a process of its own
/// (`dashboard.metrics_port`). It returns on graceful shutdown.
public struct MetricsEndpoint: Service {
    let host: String
    let port: Int
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    public init(host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.host = host
        self.port = port
        self.registry = registry
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        let registry = self.registry
        router.get("/metrics") { _, _ in Self.metrics(registry) }
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { [logger, host, port] _ in logger.info("metrics serving", metadata: ["metrics.host": "\(host)", "metrics.port": "\(port)"]) },
            logger: logger)
        try await app.run()
    }

    /// The `/metrics` answer: `registry` in Prometheus' text format.
    static func metrics(_ registry: PrometheusCollectorRegistry) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
}
