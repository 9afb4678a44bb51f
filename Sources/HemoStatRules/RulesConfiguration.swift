/// Configuration of the rule set.
public struct RulesConfiguration: Sendable, Hashable {
    /// The directory holding `*.lua` rule files (not recursive). Default `rules`.
    public var directory: String
    /// Thresholds exposed to rules as the read-only `config` table. Keys given here replace
    /// or extend `RulesConfiguration.defaultThresholds`.
    public var thresholds: [String: Double]
    /// VM instructions one rule may run for one alert before it is stopped, counted from when
    /// the watchdog finds it still running (after 2–4 ms). Default 1,000,000.
    public var instructionLimit: Int
    /// Bytes one rule may allocate for one alert (on top of what the state holds). Default 16 MiB.
    public var memoryLimit: Int
    /// Lua states kept for concurrent evaluations (each single-threaded). Default 2.
    public var poolSize: Int

    /// The thresholds the default rules use, and their defaults.
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `cpu_percent` | 85 | CPU usage considered high |
    /// | `memory_percent` | 80 | memory usage considered high |
    /// | `sustained_seconds` | 120 | how long a high reading must last to count as sustained |
    /// | `sustained_samples` | 3 | and over at least this many samples |
    /// | `restart_loop_count` | 3 | restarts within the window that make a crash loop |
    /// | `restart_loop_window_seconds` | 600 | the crash-loop window |
    /// | `memory_growth_horizon_seconds` | 900 | act when the limit is projected within this time |
    /// | `memory_growth_min_percent` | 60 | only project growth above this usage |
    /// | `trend_window_seconds` | 600 | history window used for trends |
    /// | `unhealthy_min_samples` | 1 | consecutive unhealthy samples before a restart |
    public static let defaultThresholds: [String: Double] = [
        "cpu_percent": 85,
        "memory_percent": 80,
        "sustained_seconds": 120,
        "sustained_samples": 3,
        "restart_loop_count": 3,
        "restart_loop_window_seconds": 600,
        "memory_growth_horizon_seconds": 900,
        "memory_growth_min_percent": 60,
        "trend_window_seconds": 600,
        "unhealthy_min_samples": 1,
    ]

    public init(
        directory: String = "rules",
        thresholds: [String: Double] = [:],
        instructionLimit: Int = 1_000_000,
        memoryLimit: Int = 16 << 20,
        poolSize: Int = 2
    ) {
        self.directory = directory
        self.thresholds = thresholds
        self.instructionLimit = instructionLimit
        self.memoryLimit = memoryLimit
        self.poolSize = poolSize
    }

    /// `defaultThresholds` overlaid with `thresholds`.
    public var effectiveThresholds: [String: Double] {
        defaultThresholds.merging(thresholds) { _, override in override }
    }

    private var defaultThresholds: [String: Double] { Self.defaultThresholds }
}
