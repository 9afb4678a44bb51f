import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway `redis-server` for tests that need their own server: one with a password or an
/// ACL user, or one they can stop and restart.
///
/// Listens on a free loopback TCP port and a unix socket in a private temporary directory,
/// with no persistence (`--save '' --appendonly no`). ``restart()`` kills it and brings it back
/// on the same port and socket, empty. The server is stopped and its directory removed on ``stop()`` /
/// deinit.
public final class RedisServerProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is guarded by `lock`; everything else is immutable.

    /// The loopback TCP port.
    public let port: Int
    /// The unix socket path.
    public let socketPath: String
    /// The `requirepass` password, if any.
    public let password: String?
    /// The ACL user (`on`, all keys, channels and commands), if any.
    public let aclUser: (name: String, password: String)?
    /// The private directory holding the socket and the log.
    public let directory: String

    private let lock = NSLock()
    private var process: ChildProcess?

    /// Starts the server and waits until it accepts connections.
    public init(password: String? = nil, aclUser: (name: String, password: String)? = nil) throws {
        self.password = password
        self.aclUser = aclUser
        directory = "/tmp/hsr-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socketPath = directory + "/redis.sock"
        port = try Self.freePort()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `redis://[user:password@]127.0.0.1:port` with the ACL user's credentials if there is one,
    /// else with the `requirepass` password (as `:password@`), else none.
    public var tcpURL: String {
        if let aclUser {
            return "redis://\(Self.escape(aclUser.name)):\(Self.escape(aclUser.password))@127.0.0.1:\(port)"
        }
        if let password { return "redis://:\(Self.escape(password))@127.0.0.1:\(port)" }
        return "redis://127.0.0.1:\(port)"
    }

    /// `unix:///…/redis.sock` without credentials.
    public var unixURL: String { "unix://\(socketPath)" }

    /// Stops the server at once (SIGKILL, as in a crash; the server keeps no data anyway) and
    /// waits until it has exited.
    public func stop() {
        lock.lock()
        let running = process
        process = nil
        lock.unlock()
        guard let running else { return }
        running.send(SIGKILL)
        _ = running.waitUntilExit()
    }

    /// Stops the server and starts a new, empty one on the same port and socket.
    public func restart() throws {
        stop()
        try start()
    }

    /// Whether the server process is running.
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return process?.isRunning ?? false
    }

    private func start() throws {
        var args = [
            "--port", String(port), "--bind", "127.0.0.1",
            "--unixsocket", socketPath, "--unixsocketperm", "700",
            "--save", "", "--appendonly", "no",
            "--dir", directory, "--logfile", directory + "/redis.log",
            "--daemonize", "no",
        ]
        if let password { args += ["--requirepass", password] }
        if let aclUser { args += ["--user", aclUser.name, "on", ">" + aclUser.password, "~*", "&*", "+@all"] }
        let process = try ChildProcess(executable: try Self.locate("redis-server"), arguments: args)
        lock.lock()
        self.process = process
        lock.unlock()

        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning { break }
            // Both listeners: after a restart the killed server's socket file is still there.
            if Self.canConnect(port: port) && Self.canConnect(socketPath: socketPath) { return }
            usleep(20_000)
        }
        let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        stop()
        throw TestEnvironmentError(message: "redis-server did not start on port \(port): \(log.suffix(500))")
    }

    private static func locate(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestEnvironmentError(message: "\(name) is not on PATH")
    }

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    /// A TCP port on 127.0.0.1 nobody listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestEnvironmentError(message: "socket() failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestEnvironmentError(message: "bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    static func canConnect(socketPath: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
