public import HemoStatModel
public import Foundation
public import Logging

/// How often each rule matched, decided and failed since the rule set was loaded.
public struct RuleCounters: Sendable, Hashable {
    /// Evaluations in which the rule returned a verdict.
    public var matched: Int = 0
    /// Evaluations in which its verdict was the decisive one.
    public var decisive: Int = 0
    /// Evaluations in which it failed (runtime error, instruction or memory limit).
    public var errors: Int = 0

    public init(matched: Int = 0, decisive: Int = 0, errors: Int = 0) {
        self.matched = matched
        self.decisive = decisive
        self.errors = errors
    }
}

/// A snapshot of the rule set for the dashboard's rules panel.
public struct RulesStatus: Sendable {
    /// The rules in evaluation order.
    public var rules: [RuleInfo]
    /// Problems found by the last load: a file listed here keeps running its last good
    /// version, or contributes no rules if it never loaded.
    public var loadErrors: [RuleError]
    /// When the rule set last changed (initial load included).
    public var lastReload: Date
    /// When the directory was last checked for changes.
    public var lastCheck: Date
    /// Increments on every change of the running rule set.
    public var generation: Int
    /// Per rule name.
    public var counters: [String: RuleCounters]
}

/// Evaluates alerts against the Lua rules of a directory, reloading edited files.
///
/// Thread-safe. Each evaluation borrows one Lua state from a small pool (states are
/// single-threaded); `evaluate(_:)` runs it on the rule set's own dispatch queue, never on the
/// cooperative pool, and `evaluateSync(_:)` on the calling thread (CLI, benchmarks).
///
/// Reloading is per file: an edited file that fails to load keeps its last good version
/// running and its error appears in `status.loadErrors` until the file is fixed.
public final class RuleSet: Sendable {
    private struct Pooled: @unchecked Sendable {
        // A runtime is used by one thread at a time: it is taken out of the pool under the
        // lock, used only by the thread that took it, and put back under the lock.
        let runtime: RuleRuntime
        let generation: Int
    }

    private struct State {
        var generation = 0
        var sources: [RuleSource] = []
        var stamps: [String: RuleFiles.Stamp] = [:]
        var rules: [RuleInfo] = []
        var loadErrors: [RuleError] = []
        var lastReload = Date()
        var lastCheck = Date()
        var free: [Pooled] = []
        var counters: [String: RuleCounters] = [:]
    }

    /// The configuration the rule set was created with.
    public let configuration: RulesConfiguration
    private let directory: String?
    private let logger: Logger
    private let state: Locked<State>
    private let queue = DispatchQueue(label: "hemostat.rules", qos: .userInitiated, attributes: .concurrent)

    /// Loads every `*.lua` file of `configuration.directory`.
    ///
    /// Files that fail to load are reported in `status.loadErrors` and skipped; the rule set
    /// still starts.
    /// - Throws: `RuleError` with code `.io` when the directory cannot be read.
    public init(configuration: RulesConfiguration, logger: Logger) throws(RuleError) {
        self.configuration = configuration
        self.directory = configuration.directory
        self.logger = logger
        self.state = Locked(State())
        _ = try reload(force: true)
    }

    /// A rule set over fixed sources, with no directory to watch (tests, `rules eval`).
    public init(sources: [RuleSource], configuration: RulesConfiguration = RulesConfiguration(), logger: Logger) {
        self.configuration = configuration
        self.directory = nil
        self.logger = logger
        self.state = Locked(State())
        let runtime = makeRuntime(sources)
        state.withLock { s in
            s.sources = sources
            s.rules = runtime.rules.map(\.info)
            s.loadErrors = runtime.loadErrors
            s.free = [Pooled(runtime: runtime, generation: 0)]
        }
        for error in runtime.loadErrors { log(error) }
    }

    /// Evaluates `alert` (its history in its `history` member) on the rule set's queue.
    public func evaluate(_ alert: JSONValue) async -> RuleEvaluation {
        await evaluate(RuleInput(alert))
    }

    /// Evaluates `input` on the rule set's queue.
    public func evaluate(_ input: RuleInput) async -> RuleEvaluation {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.evaluateSync(input))
            }
        }
    }

    /// Evaluates `alert` on the calling thread (blocks it for the duration of the rules).
    public func evaluateSync(_ alert: JSONValue) -> RuleEvaluation {
        evaluateSync(RuleInput(alert))
    }

    /// Evaluates `input` on the calling thread (blocks it for the duration of the rules).
    public func evaluateSync(_ input: RuleInput) -> RuleEvaluation {
        let pooled = checkout()
        let result = pooled.runtime.evaluate(input)
        checkin(pooled, result: result)
        return result
    }

    /// The rules, load errors, reload times and counters.
    public var status: RulesStatus {
        state.withLock { s in
            RulesStatus(
                rules: s.rules, loadErrors: s.loadErrors, lastReload: s.lastReload, lastCheck: s.lastCheck,
                generation: s.generation, counters: s.counters)
        }
    }

    /// Checks the rules directory and reloads changed, added and removed files.
    ///
    /// - Returns: `true` when the running rule set changed.
    /// - Throws: `RuleError` (`.io`) when the directory cannot be read; the running rules stay.
    @discardableResult
    public func reloadIfChanged() throws(RuleError) -> Bool {
        try reload(force: false)
    }

    /// Calls `reloadIfChanged()` every `interval` until the task is cancelled. Errors are
    /// logged and kept in `status`; they never stop the watch.
    ///
    /// - Parameter onChange: called after each check that changed the rule set or its load
    ///   errors, with the new status.
    public func watch(every interval: Duration = .seconds(1), onChange: (@Sendable (RulesStatus) async -> Void)? = nil) async {
        while !Task.isCancelled {
            let errorsBefore = status.loadErrors
            var changed = false
            do {
                changed = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                    queue.async {
                        do {
                            continuation.resume(returning: try self.reloadIfChanged())
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                }
            } catch {
                logger.warning("rules directory unreadable", metadata: ["rules.error": "\(error)"])
            }
            if let onChange {
                let now = status
                if changed || now.loadErrors != errorsBefore { await onChange(now) }
            }
            try? await Task.sleep(for: interval)
        }
    }

    // MARK: - internals

    private func makeRuntime(_ sources: [RuleSource]) -> RuleRuntime {
        RuleRuntime(
            sources: sources, thresholds: configuration.effectiveThresholds,
            instructionLimit: configuration.instructionLimit, memoryLimit: configuration.memoryLimit)
    }

    private func checkout() -> Pooled {
        let (taken, generation, sources) = state.withLock { s -> (Pooled?, Int, [RuleSource]) in
            while let candidate = s.free.popLast() {
                if candidate.generation == s.generation { return (candidate, s.generation, s.sources) }
            }
            return (nil, s.generation, s.sources)
        }
        if let taken { return taken }
        return Pooled(runtime: makeRuntime(sources), generation: generation)
    }

    private func checkin(_ pooled: Pooled, result: RuleEvaluation) {
        state.withLock { s in
            for verdict in result.matches {
                s.counters[verdict.rule, default: RuleCounters()].matched += 1
            }
            if let decisive = result.decisive {
                s.counters[decisive.rule, default: RuleCounters()].decisive += 1
            }
            for error in result.errors {
                s.counters[error.rule ?? "?", default: RuleCounters()].errors += 1
            }
            if pooled.generation == s.generation && s.free.count < max(1, configuration.poolSize) {
                s.free.append(pooled)
            }
        }
    }

    private func reload(force: Bool) throws(RuleError) -> Bool {
        guard let directory else { return false }
        let paths: [String]
        do {
            paths = try RuleFiles.list(directory)
        } catch {
            state.withLock { $0.lastCheck = Date() }
            throw error
        }
        let (previousStamps, previousSources) = state.withLock { ($0.stamps, $0.sources) }
        var stamps: [String: RuleFiles.Stamp] = [:]
        for path in paths { stamps[path] = RuleFiles.stamp(path) }
        if !force && stamps == previousStamps {
            state.withLock { $0.lastCheck = Date() }
            return false
        }

        // Candidate: the current text of every file.
        var readErrors: [RuleError] = []
        var candidate: [RuleSource] = []
        for path in paths {
            do { candidate.append(try RuleFiles.read(path)) } catch { readErrors.append(error) }
        }
        var runtime = makeRuntime(candidate)
        let candidateErrors = readErrors + runtime.loadErrors

        // A file that fails keeps its last good version (when there is one).
        let failed = Set(candidateErrors.compactMap { $0.location?.file })
        if !failed.isEmpty {
            let lastGood = Dictionary(previousSources.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            let fallback = candidate.filter { !failed.contains($0.path) }
                + failed.compactMap { lastGood[$0] }
            runtime = makeRuntime(fallback)
            candidate = fallback.filter { runtime.loadedFiles.contains($0.path) }
        }

        let changed = candidate != previousSources || force
        let now = Date()
        let rules = runtime.rules.map(\.info)
        state.withLock { s in
            s.stamps = stamps
            s.loadErrors = candidateErrors
            s.lastCheck = now
            if changed {
                s.sources = candidate
                s.rules = rules
                s.generation += 1
                s.lastReload = now
                s.free = [Pooled(runtime: runtime, generation: s.generation)]
            }
        }
        for error in candidateErrors { log(error) }
        if changed {
            logger.info(
                "rules loaded",
                metadata: ["rules.count": "\(rules.count)", "rules.errors": "\(candidateErrors.count)"])
        }
        return changed
    }

    private func log(_ error: RuleError) {
        logger.error(
            "rule file failed to load; its last good version stays in use",
            metadata: ["rules.location": "\(error.location?.description ?? "")", "rules.error": "\(error.message)"])
    }
}

/// A value behind an `NSLock`.
final class Locked<Value>: @unchecked Sendable {
    // Every access to `value` goes through `withLock`, so it is never touched by two threads
    // at once.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
