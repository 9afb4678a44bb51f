/// How long a test waits for something the services do, unless it says otherwise: generous,
/// because the whole suite runs in parallel on a shared 2-core machine. A wait stops as soon as
/// its condition holds, so a passing test never waits this long.
public let defaultWait: Duration = .seconds(60)

/// A condition that did not hold in time.
public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}

/// Waits until `condition` holds, looking every 20 ms; throws ``TimedOut`` naming `what` when
/// it has not held within `timeout`. `what` is only evaluated then, so it may carry costly
/// diagnostics.
///
/// ```swift
/// try await eventually("the restart's result") { try await h.completions("web").count == 1 }
/// ```
public func eventually(
    _ what: @autoclosure () -> String, timeout: Duration = defaultWait, _ condition: () async throws -> Bool
) async throws {
    guard try await holds(within: timeout, condition) else { throw TimedOut(what: what(), timeout: timeout) }
}

/// Whether `condition` holds within `timeout`, looking every 20 ms: for a test that reports a
/// wait that timed out with its own expectation and goes on.
public func holds(within timeout: Duration = defaultWait, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
