import Foundation

/// A local HTTP server that receives webhooks the way Slack's incoming webhooks do: it accepts
/// a JSON POST on any path, answers `200` with the body `ok`, and records every request.
///
/// It can be told to answer the first N requests with `429` and a `Retry-After` header, or
/// with `500`, to exercise retries. Stop it with ``stop()``.
public final class WebhookReceiver: @unchecked Sendable {
    // @unchecked: every stored property is a `let` set in init.
    public let port: Int
    private let process: ChildProcess
    private let directory: String
    private let log: String

    /// One request as received.
    public struct Request: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: String
        /// The body parsed as JSON, if it is.
        public var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }
    }

    /// - Parameters:
    ///   - failFirst: how many requests to refuse before accepting.
    ///   - failStatus: the status of a refusal (`429` comes with `Retry-After: retryAfter`).
    ///   - delay: seconds to wait before answering each request (a slow webhook).
    public init(failFirst: Int = 0, failStatus: Int = 429, retryAfter: Int = 1, delay: Double = 0) async throws {
        directory = NSTemporaryDirectory() + "hemostat-webhook-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        log = directory + "/requests.jsonl"
        let script = directory + "/receiver.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        let ready = directory + "/ready"
        let process = try ChildProcess(command: [
            "python3", script, ready, log, String(failFirst), String(failStatus), String(retryAfter), String(delay),
        ])
        self.process = process
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline, !FileManager.default.fileExists(atPath: ready), process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let text = try? String(contentsOfFile: ready, encoding: .utf8),
              let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.send(SIGKILL)
            _ = process.waitUntilExit()
            throw TestEnvironmentError(message: "the webhook receiver did not start")
        }
        self.port = port
    }

    deinit { stop() }

    /// `http://127.0.0.1:<port>`; append any path (Slack's look like `/services/T…/B…/…`).
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request received so far, in order (refused ones included).
    public func requests() -> [Request] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
            return Request(
                path: object["path"] as? String ?? "",
                headers: object["headers"] as? [String: String] ?? [:],
                body: object["body"] as? String ?? "")
        }
    }

    /// Waits until `condition` holds for the requests received, or the timeout passes.
    public func wait(timeout: Duration = .seconds(20), until condition: ([Request]) -> Bool) async -> [Request] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = requests()
            if condition(current) { return current }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return requests()
    }

    public func stop() {
        process.send(SIGKILL)
        _ = process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static let script = String(decoding: PackageResources.webhook_receiver_py, as: UTF8.self)
}
