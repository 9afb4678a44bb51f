// swift-tools-version:6.0
import PackageDescription

/// Settings shared by every Swift target: Swift 6 language mode (strict concurrency) and
/// internal imports by default, so no C type can leak into a public signature.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "HemoStat",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hemostat", targets: ["hemostat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // C boundary: module map + shim header, nothing else.
        // hiredis' pkg-config file adds -D_FILE_OFFSET_BITS=64, which SwiftPM refuses; its
        // headers are found under the default include path as <hiredis/...> anyway.
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        // The watchdog that arms the rules' instruction limit (see Sources/CLua/shim.h).
        .target(name: "CLuaWatch"),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // The message contract, Redis key names, time and metric names: Foundation only, so
        // everything above can share it and nothing in it can reach for I/O.
        .target(
            name: "HemoStatModel",
            swiftSettings: swiftSettings
        ),

        // Swift wrappers over the C libraries.
        .target(
            name: "HemoStatRedis",
            dependencies: ["CHiredis", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HemoStatHTTP",
            dependencies: ["CCurl", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HemoStatDocker",
            dependencies: ["HemoStatHTTP", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HemoStatRules",
            dependencies: [
                "HemoStatModel",
                "CLua",
                "CLuaWatch",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.embedInCode("Lua/prelude.lua")] + ["DefaultRules/00-operator.lua", "DefaultRules/10-starting.lua", "DefaultRules/20-crash.lua", "DefaultRules/30-health.lua", "DefaultRules/40-resources.lua"].map { .embedInCode($0) },
            swiftSettings: swiftSettings
        ),

        // What every agent shares: configuration, the bus, the safety gate, the agent context,
        // request routing, the audit log.
        .target(
            name: "HemoStatCore",
            dependencies: [
                "HemoStatModel", "HemoStatRedis", "HemoStatRules",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [
                .embedInCode("Lua/gate-acquire.lua"),
                .embedInCode("Lua/gate-clock.lua"),
                .embedInCode("Lua/gate-complete.lua"),
                .embedInCode("Lua/gate-note-refusal.lua"),
                .embedInCode("Lua/gate-operator-command.lua"),
                .embedInCode("Lua/gate-renew.lua"),
                .embedInCode("Lua/gate-take-over.lua"),
            ],
            swiftSettings: swiftSettings
        ),

        // One module per agent: its pure decision core and its service, over ports (the engine,
        // the LLM and notification transports) that HemoStatApp fills.
        .target(
            name: "HemoStatMonitor",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HemoStatAnalyzer",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatRedis", "HemoStatRules",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Lua/analyzer-claim-rechecks.lua")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HemoStatResponder",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Lua/responder-claim-retry.lua"), .embedInCode("Lua/responder-move-in-flight.lua"), .embedInCode("Lua/responder-publish-result.lua")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HemoStatAlert",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Lua/event-log-append.lua")],
            swiftSettings: swiftSettings
        ),

        // The adapters (Docker, HTTPS for the LLM and notifications) and the embedded Redis.
        .target(
            name: "HemoStatApp",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatMonitor", "HemoStatAnalyzer", "HemoStatResponder", "HemoStatAlert",
                "HemoStatRedis", "HemoStatHTTP", "HemoStatDocker",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The web dashboard, /metrics, /healthz and /readyz.
        .target(
            name: "HemoStatDashboard",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatResponder", "HemoStatRedis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [
                .embedInCode("Assets/web/index.html"),
                .embedInCode("Assets/web/app.css"),
                .embedInCode("Assets/web/app.js"),
                .embedInCode("Assets/web/favicon.svg"),
            ],
            swiftSettings: swiftSettings
        ),

        // Shared by the test targets: where the private Redis and Docker engine are, fault
        // containers, extra servers. Never linked into the executable.
        .target(
            name: "HemoStatTestSupport",
            dependencies: [],
            resources: [.embedInCode("Python/webhook_receiver.py"), .embedInCode("Python/http_test_server.py")],
            swiftSettings: swiftSettings
        ),

        // The CLI: thin, parses arguments and calls library code.
        .executableTarget(
            name: "hemostat",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatMonitor", "HemoStatAnalyzer", "HemoStatResponder", "HemoStatAlert",
                "HemoStatApp", "HemoStatRules", "HemoStatRedis", "HemoStatDocker", "HemoStatHTTP", "HemoStatDashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),

        // Rule evaluations per second with the default rules: `swift run -c release HemoStatRulesBenchmark`.
        .executableTarget(
            name: "HemoStatRulesBenchmark",
            dependencies: ["HemoStatModel", "HemoStatRules", .product(name: "Logging", package: "swift-log")],
            path: "bench/rules",
            swiftSettings: swiftSettings
        ),

        // Messages read and written per second: `swift build -c release --product HemoStatMessagesBenchmark`.
        .executableTarget(
            name: "HemoStatMessagesBenchmark",
            dependencies: ["HemoStatModel"],
            path: "bench/messages",
            swiftSettings: swiftSettings
        ),

        // Benchmarks: separate from the tests, each prints its figures and how to reproduce them.
        .executableTarget(
            name: "ResponderBench",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatResponder", "HemoStatRedis", "HemoStatRules",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/responder",
            swiftSettings: swiftSettings
        ),

        // Alert-to-decision latency through Redis: `swift run -c release HemoStatAnalyzerBenchmark [REDIS_URL]`.
        .executableTarget(
            name: "HemoStatAnalyzerBenchmark",
            dependencies: ["HemoStatModel", "HemoStatCore", "HemoStatAnalyzer", "HemoStatRedis", .product(name: "Logging", package: "swift-log")],
            path: "bench/analyzer",
            swiftSettings: swiftSettings
        ),

        // Monitor cycle time and fault-to-alert latency against a real engine and Redis (docs/performance.md).
        .executableTarget(
            name: "HemoStatMonitorBenchmark",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatMonitor", "HemoStatApp", "HemoStatDocker", "HemoStatHTTP", "HemoStatRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "bench/monitor",
            exclude: ["engine-stats.sh"],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "HemoStatModelTests", dependencies: ["HemoStatModel"], swiftSettings: swiftSettings),
        .testTarget(name: "HemoStatRedisTests", dependencies: ["HemoStatRedis", "HemoStatTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "HemoStatHTTPTests", dependencies: ["HemoStatHTTP", "HemoStatTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "HemoStatDockerTests", dependencies: ["HemoStatDocker", "HemoStatTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "HemoStatRulesTests", dependencies: ["HemoStatModel", "HemoStatRules", "HemoStatTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HemoStatCoreTests",
            dependencies: [
                "HemoStatModel", "HemoStatCore", "HemoStatMonitor", "HemoStatAnalyzer", "HemoStatResponder", "HemoStatAlert",
                "HemoStatApp", "HemoStatHTTP", "HemoStatDocker", "HemoStatTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        // The built `hemostat` binary against the private Redis and Docker engine and a local
        // Slack-style receiver, in one process and as separate agents.
        .testTarget(name: "HemoStatE2ETests", dependencies: ["HemoStatRedis", "HemoStatTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HemoStatDashboardTests",
            dependencies: [
                "HemoStatDashboard", "HemoStatModel", "HemoStatCore", "HemoStatResponder", "HemoStatRedis", "HemoStatTestSupport",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
