public import Foundation
public import HemoStatCore
import HemoStatModel
public import Logging

/// Takes one sample of every container: list, then inspect and stats for each, at most
/// `concurrency` requests in flight.
///
/// Docker's one-shot stats answer at the engine's next collection tick (up to about a second)
/// and, on the engines we run, carry no previous CPU counters; so CPU percent is computed from
/// the same container's reading of the previous cycle (``SampleRound/readings``), and a
/// container's first reading has no CPU figure unless `waitForPrevious` is set, which asks the
/// engine for two readings (about a second longer).
public struct ContainerSampler: Sendable {
    public let engine: any ContainerEngine
    public let scope: ContainerScope
    public let concurrency: Int

    public init(engine: any ContainerEngine, scope: ContainerScope, concurrency: Int) {
        self.engine = engine
        self.scope = scope
        self.concurrency = max(1, concurrency)
    }

    /// The result of one round.
    public struct SampleRound: Sendable {
        public var samples: [ContainerSample]
        /// The stats reading of each running container by id, to pass to the next round.
        public var readings: [String: StatsReading]
        /// Engine calls that failed, by operation (`list`, `inspect`, `stats`).
        public var errors: [String: Int]
    }

    /// Samples every container. Throws only when the list itself fails; a failed inspect or
    /// stats call leaves that container with what the list said, or without metrics.
    public func sampleAll(
        previous: [String: StatsReading], waitForPrevious: Bool = false, now: @escaping @Sendable () -> Date, logger: Logger
    ) async throws -> SampleRound {
        let containers = try await engine.listContainers()
        var samples: [ContainerSample] = []
        samples.reserveCapacity(containers.count)
        var readings: [String: StatsReading] = [:]
        var errors: [String: Int] = [:]
        let engine = self.engine
        let scope = self.scope
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            var iterator = containers.makeIterator()
            func addNext() -> Bool {
                guard let container = iterator.next() else { return false }
                let earlier = previous[container.id]
                group.addTask {
                    await Self.sampleOne(container, engine: engine, scope: scope, earlier: earlier, waitForPrevious: waitForPrevious, now: now)
                }
                return true
            }
            for _ in 0..<concurrency {
                if !addNext() { break }
            }
            while let outcome = try await group.next() {
                if let sample = outcome.sample { samples.append(sample) }
                if let reading = outcome.reading { readings[outcome.id] = reading }
                for (operation, message) in outcome.failures {
                    errors[operation, default: 0] += 1
                    logger.debug("docker call failed", metadata: ["container.id": "\(outcome.id)", "docker.operation": "\(operation)", "error": "\(message)"])
                }
                _ = addNext()
            }
        }
        samples.sort { $0.name < $1.name }
        return SampleRound(samples: samples, readings: readings, errors: errors)
    }

    struct Outcome: Sendable {
        var id: String
        var sample: ContainerSample?
        var reading: StatsReading?
        var failures: [(String, String)] = []
    }

    static func sampleOne(
        _ container: EngineContainer, engine: any ContainerEngine, scope: ContainerScope, earlier: StatsReading?, waitForPrevious: Bool, now: () -> Date
    ) async -> Outcome {
        var outcome = Outcome(id: container.id)
        var inspection: ContainerInspection
        let inspectedAt = now()
        do {
            inspection = try await engine.inspect(container.id)
        } catch let error as ContainerEngineError where error.code == .notFound {
            return outcome
        } catch {
            outcome.failures.append(("inspect", "\(error)"))
            inspection = ContainerInspection(id: container.id, name: container.name, image: container.image, status: container.state, labels: container.labels)
        }
        let exclusion = scope.exclusion(id: inspection.id, name: inspection.name, labels: inspection.labels)
        var metrics: ContainerMetrics?
        var cpuKnown = false
        if inspection.isRunning {
            do {
                let reading = try await engine.stats(container.id, waitForPrevious: waitForPrevious && earlier == nil)
                let computed = MetricMath.metrics(reading, earlier: earlier)
                metrics = computed.metrics
                cpuKnown = computed.cpuKnown
                outcome.reading = reading
            } catch let error as ContainerEngineError where error.code == .notFound {
                return outcome
            } catch {
                outcome.failures.append(("stats", "\(error)"))
            }
        }
        outcome.sample = ContainerSample(
            container: inspection, metrics: metrics, cpuKnown: cpuKnown, sampledAt: now(), inspectedAt: inspectedAt,
            exclusion: exclusion)
        return outcome
    }
}
