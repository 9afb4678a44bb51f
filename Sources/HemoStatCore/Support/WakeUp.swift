import HemoStatModel
import Synchronization

/// A wake-up call for one waiter: ``wait(upTo:)`` returns when the call is rung, when the
/// time is up, or when the waiting task is cancelled. A ring while nobody waits is kept for the
/// next wait. No task is stored: the time limit is a child task of the wait.
package final class WakeUp: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, Never>?
        var rung = false
    }

    private let state = Mutex(State())

    package init() {}

    /// Wakes the waiter, or the next one.
    package func ring() {
        let waiter = state.withLock { state in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil as CheckedContinuation<Void, Never>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Waits until rung or, when `limit` is given, until it has passed.
    package func wait(upTo limit: Duration?) async {
        await withTaskGroup(of: Void.self) { group in
            if let limit { group.addTask { try? await Task.sleep(for: limit) } }
            group.addTask { await self.rung() }
            await group.next()
            group.cancelAll()
        }
    }

    private func rung() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    if Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
