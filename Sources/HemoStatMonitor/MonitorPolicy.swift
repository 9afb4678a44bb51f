public import Foundation
public import HemoStatCore

/// The thresholds and windows the anomaly state machine applies (from `monitor.*`).
public struct MonitorPolicy: Sendable, Hashable {
    public var cpuThresholdPercent: Double
    public var memoryThresholdPercent: Double
    /// Memory percent from which `high_memory` is critical rather than a warning.
    public var memoryCriticalPercent: Double
    public var sustainedSamples: Int
    public var restartLoopCount: Int
    public var restartLoopWindow: TimeInterval
    public var memoryGrowthHorizon: TimeInterval
    /// Fewest samples of one run of a container before a memory trend is trusted.
    public var memoryGrowthMinimumSamples: Int
    /// How straight the climb must be (r² of the linear fit) to count as steady growth.
    public var memoryGrowthMinimumFit: Double
    public var reminderInterval: TimeInterval
    public var historyLength: Int
    /// A `kill` or `stop` event this long before a `die` makes the exit an operator's stop.
    public var operatorStopWindow: TimeInterval
    /// After an `oom` event, how long to wait for the container's `die` so one alert carries
    /// both; when no `die` comes, the OOM is alerted alone.
    public var oomGrace: TimeInterval
    /// After a `die` with exit code 137 (SIGKILL) not through the API, how long to wait for the
    /// engine's `oom` event that would explain it before the exit is announced as a crash. The
    /// event comes late from a loaded engine; an OOM kill is alerted at once when it comes.
    public var killGrace: TimeInterval
    /// After a `die` caused by HemoStat's own action (a restart that had to stop the container),
    /// how long to wait for its `start` before the stop is announced.
    public var ownStopGrace: TimeInterval
    /// After a poll finds a container down, how long to wait for the `die` event that tells a
    /// crash from a stop before the exit is announced with that unknown (the poll can read the
    /// engine's state before the engine has delivered the event; Podman's come a second or more
    /// behind). Applies only while the event stream is followed.
    public var dieGrace: TimeInterval

    public init(
        cpuThresholdPercent: Double = 85, memoryThresholdPercent: Double = 80, memoryCriticalPercent: Double = 95,
        sustainedSamples: Int = 3, restartLoopCount: Int = 3, restartLoopWindow: TimeInterval = 300,
        memoryGrowthHorizon: TimeInterval = 900, memoryGrowthMinimumSamples: Int = 4, memoryGrowthMinimumFit: Double = 0.8,
        reminderInterval: TimeInterval = 900, historyLength: Int = 20, operatorStopWindow: TimeInterval = 120, oomGrace: TimeInterval = 0.3,
        killGrace: TimeInterval = 2, ownStopGrace: TimeInterval = 15, dieGrace: TimeInterval = 3
    ) {
        self.cpuThresholdPercent = cpuThresholdPercent
        self.memoryThresholdPercent = memoryThresholdPercent
        self.memoryCriticalPercent = memoryCriticalPercent
        self.sustainedSamples = sustainedSamples
        self.restartLoopCount = restartLoopCount
        self.restartLoopWindow = restartLoopWindow
        self.memoryGrowthHorizon = memoryGrowthHorizon
        self.memoryGrowthMinimumSamples = memoryGrowthMinimumSamples
        self.memoryGrowthMinimumFit = memoryGrowthMinimumFit
        self.reminderInterval = reminderInterval
        self.historyLength = historyLength
        self.operatorStopWindow = operatorStopWindow
        self.oomGrace = oomGrace
        self.killGrace = killGrace
        self.ownStopGrace = ownStopGrace
        self.dieGrace = dieGrace
    }

    public init(configuration c: MonitorConfiguration) {
        self.init(
            cpuThresholdPercent: c.cpuThresholdPercent, memoryThresholdPercent: c.memoryThresholdPercent,
            sustainedSamples: c.sustainedSamples, restartLoopCount: c.restartLoopCount,
            restartLoopWindow: c.restartLoopWindow.timeInterval, memoryGrowthHorizon: c.memoryGrowthHorizon.timeInterval,
            reminderInterval: c.reminderInterval.timeInterval, historyLength: c.historyLength)
    }
}
