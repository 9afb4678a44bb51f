import ArgumentParser
import HemoStatCore
import Logging

/// The container engine the agents act through, from `docker.*` in the configuration.
func makeContainerEngine(configuration: HemoStatConfiguration, logger: Logger) throws -> any ContainerEngine {
    // The Docker Engine API client (HemoStatDocker) provides the engine; this build does not
    // include it yet.
    printError("hemostat responder: this build has no Docker engine client (HemoStatDocker); the responder cannot run")
    throw ExitCode(2)
}
