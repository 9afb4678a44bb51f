import Foundation

/// Where the integration tests find the private Redis and Docker engine that
/// `scripts/test-env.sh start` brings up (`scripts/test.sh` does this for you).
///
/// Outside CI a test that needs a service it cannot find is skipped (use ``integration`` as the
/// condition of an `.enabled(if:)` trait); with `CI=true` it runs and fails with
/// ``TestEnvironmentError``, so a missing service is never a silent skip in CI.
public enum TestEnvironment {
    /// True when the integration services are configured, or when running in CI (where their
    /// absence must fail the run rather than skip it).
    public static var integration: Bool {
        environment["HEMOSTAT_TEST_REDIS_URL"] != nil || isCI
    }

    public static var isCI: Bool {
        environment["CI"].map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
    }

    /// `unix:///…/redis.sock` of the private test Redis.
    public static func redisURL() throws -> String {
        try require("HEMOSTAT_TEST_REDIS_URL")
    }

    /// The loopback TCP port of the same private Redis.
    public static func redisPort() throws -> Int {
        let text = try require("HEMOSTAT_TEST_REDIS_PORT")
        guard let port = Int(text) else {
            throw TestEnvironmentError(message: "HEMOSTAT_TEST_REDIS_PORT is not a port: \(text)")
        }
        return port
    }

    /// `unix:///…/docker.sock` of the private test engine.
    public static func dockerHost() throws -> String {
        try require("HEMOSTAT_TEST_DOCKER_HOST")
    }

    /// A second private engine, a second Docker host for the tests of several hosts.
    public static func secondDockerHost() throws -> String {
        try require("HEMOSTAT_TEST_DOCKER_HOST_B")
    }

    /// The busybox image built by `scripts/test-env.sh` with `docker import`.
    public static func image() throws -> String {
        try require("HEMOSTAT_TEST_IMAGE")
    }

    /// A directory private to this test run, for scratch files and extra servers.
    public static func stateDirectory() throws -> String {
        try require("HEMOSTAT_TEST_STATE")
    }

    /// A prefix no other test uses: keys, stream names and container names start with it.
    public static func uniquePrefix(_ label: String = "t") -> String {
        "hst-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func require(_ name: String) throws -> String {
        guard let value = environment[name], !value.isEmpty else {
            throw TestEnvironmentError(
                message: "\(name) is not set: run the tests through scripts/test.sh, or source the file printed by `scripts/test-env.sh env`"
            )
        }
        return value
    }
}

/// A test service that should be there is not.
public struct TestEnvironmentError: Error, CustomStringConvertible {
    public init(message: String) { self.message = message }
    public var message: String
    public var description: String { message }
}
