import Foundation
import HemoStatModel
import HemoStatRedis
import Logging
import Synchronization

/// Fans the bus out to every open page as server-sent events: each message PUBLISHed under the
/// key prefix becomes a `message` event, and a `tick` event every refresh interval tells pages
/// to re-read stats. A slow page loses its oldest events rather than holding memory.
final class LiveFeed: Sendable {
    private let clients = Mutex<(next: Int, continuations: [Int: AsyncStream<String>.Continuation], closed: Bool)>((0, [:], false))
    private let connected = Atomic<Bool>(false)
    let keys: KeySpace
    let logger: Logger

    /// Events buffered per page before the oldest are dropped.
    static let bufferPerClient = 512

    init(keys: KeySpace, logger: Logger) {
        self.keys = keys
        self.logger = logger
    }

    /// True while the pub/sub subscription is open.
    var isConnected: Bool { connected.load(ordering: .relaxed) }

    /// A stream of SSE frames for one page; it ends when the page goes or the feed shuts down.
    func subscribe() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferPerClient))
        let id: Int? = clients.withLock { state in
            guard !state.closed else { return nil }
            let id = state.next
            state.next += 1
            state.continuations[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.clients.withLock { $0.continuations.removeValue(forKey: id) }
        }
        continuation.yield(Self.frame(event: "hello", data: JSONValue.object(["live": .bool(isConnected)]).htmlSafeText, retryMs: 2000))
        return stream
    }

    func broadcast(_ frame: String) {
        let targets = clients.withLock { Array($0.continuations.values) }
        for c in targets { c.yield(frame) }
    }

    /// Ends every page's stream; later subscriptions end at once.
    func shutdown() {
        let targets = clients.withLock { state in
            state.closed = true
            let all = Array(state.continuations.values)
            state.continuations.removeAll()
            return all
        }
        for c in targets { c.finish() }
    }

    /// Subscribes to `<prefix>*` and re-subscribes with backoff while not cancelled or shut down.
    func runSubscription(configuration: RedisConfiguration) async {
        let subscriber = RedisSubscriber(configuration: configuration, logger: logger)
        var backoff: Duration = .milliseconds(250)
        while !Task.isCancelled && !clients.withLock({ $0.closed }) {
            do {
                let stream = try await subscriber.psubscribe(patterns: [keys.everything])
                connected.store(true, ordering: .relaxed)
                broadcast(Self.frame(event: "status", data: #"{"live":true}"#))
                backoff = .milliseconds(250)
                for try await message in stream {
                    broadcast(Self.messageFrame(message, keys: keys))
                }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("dashboard live feed lost its subscription", metadata: ["error.message": "\(error)"])
            }
            if connected.exchange(false, ordering: .relaxed) {
                broadcast(Self.frame(event: "status", data: #"{"live":false}"#))
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
        connected.store(false, ordering: .relaxed)
    }

    /// Sends a `tick` every `interval` until cancelled or shut down.
    func runTicks(interval: Duration) async {
        while !Task.isCancelled && !clients.withLock({ $0.closed }) {
            do { try await Task.sleep(for: interval) } catch { break }
            broadcast(Self.frame(event: "tick", data: #"{"at":\#(Int64(Date().timeIntervalSince1970 * 1000))}"#))
        }
    }

    static func messageFrame(_ message: RedisPubSubMessage, keys: KeySpace) -> String {
        let channel = keys.shortChannel(message.channel)
        var body: [String: JSONValue] = ["channel": .string(channel)]
        if let env = MessageView(message.string) {
            body["event"] = env.listItem
        }
        return frame(event: "message", data: JSONValue.object(body).htmlSafeText)
    }

    /// One SSE frame. `data` is single-line JSON (newlines inside strings are escaped).
    static func frame(event: String, data: String, retryMs: Int? = nil) -> String {
        var s = ""
        if let retryMs { s += "retry: \(retryMs)\n" }
        s += "event: \(event)\ndata: \(data)\n\n"
        return s
    }
}
