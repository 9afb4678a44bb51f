import ArgumentParser
import HemoStatApp
import HemoStatCore
import HemoStatDocker
import HemoStatHTTP
import HemoStatResponder
import Logging

/// The Docker client of `docker.*` in the configuration. The HTTP client lives as long as the
/// process.
func makeDockerClient(configuration: HemoStatConfiguration, logger: Logger) throws -> DockerClient {
    let host: DockerHost
    do {
        host = try DockerHost(parsing: configuration.docker.host)
    } catch {
        printError("docker.host: \(error)")
        throw ExitCode(1)
    }
    let http = HTTPClient(
        configuration: HTTPClientConfiguration(
            connectTimeout: configuration.docker.connectTimeout, totalTimeout: configuration.docker.requestTimeout),
        logger: logger)
    return DockerClient(host: host, httpClient: http, logger: logger)
}

/// The engine the responder acts through.
func makeRemediationEngine(configuration: HemoStatConfiguration, logger: Logger) throws -> any RemediationEngine {
    DockerRemediationEngine(client: try makeDockerClient(configuration: configuration, logger: logger))
}
