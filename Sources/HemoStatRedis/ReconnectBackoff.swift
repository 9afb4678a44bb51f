/// When the next connection attempt may be made after failed ones.
///
/// The first failure waits `initial`, each further failure doubles the wait up to `maximum`; a
/// success resets it. A pure value: the caller passes the current instant, so tests need no
/// clock.
struct ReconnectBackoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private(set) var consecutiveFailures = 0
    private(set) var currentDelay: Duration = .zero
    private(set) var nextAttempt: ContinuousClock.Instant?

    init(initial: Duration, maximum: Duration) {
        self.initial = max(initial, .zero)
        self.maximum = max(maximum, self.initial)
    }

    /// Records a failed attempt made at `now`.
    mutating func recordFailure(at now: ContinuousClock.Instant) {
        consecutiveFailures += 1
        currentDelay = consecutiveFailures == 1 ? initial : min(currentDelay * 2, maximum)
        nextAttempt = now.advanced(by: currentDelay)
    }

    /// Records a successful connection.
    mutating func recordSuccess() {
        consecutiveFailures = 0
        currentDelay = .zero
        nextAttempt = nil
    }

    /// How long until an attempt is allowed, or `nil` if one is allowed at `now`.
    func waitRemaining(at now: ContinuousClock.Instant) -> Duration? {
        guard let nextAttempt, now < nextAttempt else { return nil }
        return now.duration(to: nextAttempt)
    }
}
