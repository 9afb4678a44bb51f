public import Foundation
import HemoStatCore
import HemoStatModel
import Synchronization

/// Bounds how many actions (with their verification) are in progress at once. `acquire` waits
/// for a free slot; waiters are served in order.
final class ConcurrencyLimit: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(_ limit: Int) {
        state = Mutex(State(available: max(1, limit)))
    }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { s in
                if s.available > 0 {
                    s.available -= 1
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// Request ids this process acted on recently. A second line of defence behind the gate's own
/// idempotency: should Redis lose its state (restarted without persistence) while a request is
/// re-published, this responder still does not act on it twice.
final class RecentRequests: Sendable {
    private struct State {
        var seen: [String: ContinuousClock.Instant] = [:]
        var order: [String] = []
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let memory: Duration

    init(capacity: Int = 10_000, memory: Duration) {
        self.capacity = capacity
        self.memory = memory
    }

    func contains(_ id: String) -> Bool {
        state.withLock { s in
            guard let at = s.seen[id] else { return false }
            return ContinuousClock.now - at < memory
        }
    }

    func remove(_ id: String) {
        state.withLock { s in
            if s.seen.removeValue(forKey: id) != nil { s.order.removeAll { $0 == id } }
        }
    }

    func insert(_ id: String) {
        state.withLock { s in
            if s.seen.updateValue(.now, forKey: id) == nil { s.order.append(id) }
            if s.order.count > capacity {
                let drop = s.order.count - capacity
                for old in s.order.prefix(drop) { s.seen.removeValue(forKey: old) }
                s.order.removeFirst(drop)
            }
        }
    }
}

/// Who is running an operator command: `SUDO_USER`, else `USER`, else `uid:N`.
public func operatorIdentity(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let sudo = environment["SUDO_USER"], !sudo.isEmpty { return sudo }
    if let user = environment["USER"], !user.isEmpty { return user }
    return "uid:\(getuid())"
}
