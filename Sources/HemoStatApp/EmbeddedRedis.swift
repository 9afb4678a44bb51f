import Foundation
import HemoStatCore
#if canImport(Glibc)
import Glibc
#endif
import HemoStatModel
public import HemoStatRedis
public import Logging

/// A private `redis-server` that HemoStat starts when no Redis was configured and none answers
/// on `localhost:6379`: the zero-configuration default of `hemostat run`.
///
/// It listens only on a unix socket in the state directory (no TCP port), keeps its data there
/// (RDB snapshots, so cooldowns and breakers survive a restart of HemoStat), and is stopped when
/// HemoStat exits. A server left running by a previous HemoStat that died is reused.
public final class EmbeddedRedis: Sendable {
    public let directory: String
    public let socketPath: String
    private let process: Process?
    private let logger: Logger

    /// The client configuration for the embedded server.
    public var configuration: RedisConfiguration {
        RedisConfiguration(endpoint: .unix(path: socketPath), clientName: "hemostat")
    }

    private init(directory: String, socketPath: String, process: Process?, logger: Logger) {
        self.directory = directory
        self.socketPath = socketPath
        self.process = process
        self.logger = logger
    }

    /// Starts (or reuses) the private server under `stateDirectory/redis`.
    ///
    /// Throws ``RuntimeError`` when `redis-server` is not installed or does not come up.
    public static func start(stateDirectory: String, logger: Logger) async throws -> EmbeddedRedis {
        let directory = (stateDirectory as NSString).appendingPathComponent("redis")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // unix socket paths are limited to 107 bytes.
        var socketPath = (directory as NSString).appendingPathComponent("redis.sock")
        if socketPath.utf8.count > 100 {
            socketPath = "/tmp/hemostat-redis-\(getuid())-\(abs(directory.hashValue) % 1_000_000).sock"
        }
        if await answers(socketPath) {
            logger.info("reusing the private Redis left running in the state directory", metadata: ["redis.socket": "\(socketPath)"])
            return EmbeddedRedis(directory: directory, socketPath: socketPath, process: nil, logger: logger)
        }
        guard let server = findExecutable("redis-server") else {
            throw RuntimeError(code: .redisUnavailable, message: "no Redis answered and redis-server is not installed (apt-get install redis-server), so no private one could be started")
        }
        try? FileManager.default.removeItem(atPath: socketPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = [
            "--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700",
            "--dir", directory, "--dbfilename", "hemostat.rdb", "--save", "60 1",
            "--appendonly", "no", "--logfile", (directory as NSString).appendingPathComponent("redis.log"),
            "--daemonize", "no",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw RuntimeError(code: .redisUnavailable, message: "could not start redis-server: \(error.localizedDescription)")
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if await answers(socketPath) {
                logger.notice("started a private Redis for HemoStat (no Redis was configured and none answered on localhost:6379)", metadata: [
                    "redis.socket": "\(socketPath)", "redis.dir": "\(directory)",
                ])
                return EmbeddedRedis(directory: directory, socketPath: socketPath, process: process, logger: logger)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { process.terminate() }
        throw RuntimeError(code: .redisUnavailable, message: "the private redis-server did not come up; see \(directory)/redis.log")
    }

    /// Stops the server if this process started it, saving its data first.
    ///
    /// Asks with `SHUTDOWN SAVE` rather than a signal: a child of a process that handles
    /// SIGTERM through dispatch inherits a mask that blocks it. Falls back to SIGKILL after 3 s.
    public func stop() async {
        guard let process, process.isRunning else { return }
        let client = RedisClient(configuration: configuration, logger: Logger(label: "hemostat.redis", factory: { _ in SwiftLogNoOpLogHandler() }))
        _ = try? await client.send(["SHUTDOWN", "SAVE"])
        client.close()
        let deadline = ContinuousClock.now + .seconds(3)
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        logger.info("stopped the private Redis")
    }

    /// Ends the server at once (SIGKILL), for a process that exits without finishing; what it
    /// wrote since its last save is lost.
    public func killNow() {
        guard let process, process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
    }

    static func answers(_ socketPath: String) async -> Bool {
        guard FileManager.default.fileExists(atPath: socketPath) else { return false }
        let client = RedisClient(configuration: RedisConfiguration(endpoint: .unix(path: socketPath), connectTimeout: .milliseconds(500), commandTimeout: .seconds(1)))
        defer { client.close() }
        return (try? await client.ping()) != nil
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Why HemoStat could not start or keep running; the message says what was tried and what to do.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        public static let redisUnavailable = Code(rawValue: "redis_unavailable")
        public static let dockerUnavailable = Code(rawValue: "docker_unavailable")
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
