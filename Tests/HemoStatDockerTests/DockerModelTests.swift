import Foundation
import Testing
@testable import HemoStatDocker

private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(json.utf8))
}

@Suite struct DockerModelTests {
    @Test func cgroupV1StatsFromEngine2010() throws {
        let stats = try decode(ContainerStats.self, Fixtures.statsCgroupV1)
        #expect(stats.networks == nil)
        #expect(stats.cpuStats?.cpuUsage?.percpuUsage?.count == 2)
        #expect(stats.memoryStats?.stats["total_inactive_file"] == 0)

        let metrics = ContainerMetrics(stats)
        // (87850010 - 72727535) / (2831010000000 - 2829000000000) x 2 CPUs x 100
        let cpu = try #require(metrics.cpuPercent)
        #expect(abs(cpu - 15_122_475.0 / 2_010_000_000.0 * 200) < 1e-9)
        #expect(metrics.memoryUsage == 819_200)
        #expect(metrics.memoryLimit == 67_108_864)
        #expect(metrics.memoryPercent == 819_200.0 / 67_108_864.0 * 100)
        #expect(metrics.networkRxBytes == 0 && metrics.networkTxBytes == 0)
        #expect(metrics.blockReadBytes == 0 && metrics.blockWriteBytes == 0)
        #expect(metrics.pids == 2)
    }

    @Test func cgroupV2Stats() throws {
        let stats = try decode(ContainerStats.self, Fixtures.statsCgroupV2)
        #expect(stats.cpuStats?.cpuUsage?.percpuUsage == nil)
        #expect(stats.blkioStats?.ioServicedRecursive == nil)
        let metrics = ContainerMetrics(stats)
        // (3e8 - 1e8) / (2e10 - 1e10) x 4 CPUs x 100 = 8 %
        #expect(metrics.cpuPercent.map { abs($0 - 8) < 1e-9 } == true)
        // usage 10 000 000 - inactive_file 2 000 000
        #expect(metrics.memoryUsage == 8_000_000)
        #expect(metrics.memoryPercent == 8)
        #expect(metrics.networkRxBytes == 1024)
        #expect(metrics.networkTxBytes == 206)
        #expect(metrics.blockReadBytes == 4096)
        #expect(metrics.blockWriteBytes == 8192)
        #expect(metrics.pids == 5)
    }

    @Test func cgroupV1InactiveFileAndBlkioAreCounted() throws {
        var stats = try decode(ContainerStats.self, Fixtures.statsCgroupV1)
        stats.memoryStats?.stats["total_inactive_file"] = 19_200
        stats.blkioStats = try decode(ContainerStats.BlkioStats.self, #"""
        {"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"Read","value":100},{"major":8,"minor":0,"op":"Write","value":30},
         {"major":8,"minor":0,"op":"Sync","value":130},{"major":8,"minor":0,"op":"Total","value":130},
         {"major":8,"minor":16,"op":"Read","value":1}]}
        """#)
        let metrics = ContainerMetrics(stats)
        #expect(metrics.memoryUsage == 800_000)
        #expect(metrics.blockReadBytes == 101)
        #expect(metrics.blockWriteBytes == 30)
    }

    @Test func cpuPercentFromTwoSamples() throws {
        let first = try decode(ContainerStats.self, Fixtures.statsCgroupV2)
        var second = first
        second.cpuStats?.cpuUsage?.totalUsage = 300_000_000 + 500_000_000
        second.cpuStats?.systemCPUUsage = 20_000_000_000 + 10_000_000_000
        let metrics = ContainerMetrics(previous: first, current: second)
        // 5e8 / 1e10 x 4 x 100 = 20 %
        #expect(metrics.cpuPercent.map { abs($0 - 20) < 1e-9 } == true)
    }

    @Test func oneShotSampleHasNoCPUPercent() throws {
        var stats = try decode(ContainerStats.self, Fixtures.statsCgroupV1)
        stats.precpuStats = try decode(ContainerStats.CPUStats.self, #"{"cpu_usage":{"total_usage":0},"throttling_data":{}}"#)
        #expect(ContainerMetrics(stats).cpuPercent == nil)
    }

    @Test func sparseStatsDecode() throws {
        let stats = try decode(ContainerStats.self, #"{"read":"0001-01-01T00:00:00Z","memory_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0}},"blkio_stats":{"io_service_bytes_recursive":null},"pids_stats":{}}"#)
        let metrics = ContainerMetrics(stats)
        #expect(metrics.memoryUsage == 0 && metrics.memoryPercent == 0 && metrics.cpuPercent == nil)
    }

    @Test func containerList() throws {
        let list = try decode([ContainerSummary].self, Fixtures.containerList)
        #expect(list.count == 2)
        let web = try #require(list.first { $0.name == "hst-fixture-web" })
        #expect(web.state == "running")
        #expect(web.labels == ["app": "web", "hemostat.test": "1"])
        #expect(list.first { $0.name == "hst-fixture-crash" }?.state == "exited")
    }

    @Test func inspectExitedContainer() throws {
        let inspect = try decode(ContainerInspect.self, Fixtures.inspectExited)
        #expect(inspect.name == "hst-fixture-crash")
        #expect(inspect.state.status == "exited")
        #expect(inspect.state.exitCode == 3)
        #expect(!inspect.state.running && !inspect.state.oomKilled)
        #expect(inspect.state.health == nil)
        #expect(inspect.state.startedDate != nil)
        #expect(inspect.state.finishedDate != nil)
        #expect(inspect.hostConfig?.restartPolicy?.name == "no")
        #expect(inspect.hostConfig?.pidsLimit == nil)
        #expect(inspect.config?.image == "hemostat-test/busybox:latest")
        #expect(inspect.labels["hemostat.test"] == "1")
    }

    @Test func inspectHealthyContainer() throws {
        let inspect = try decode(ContainerInspect.self, Fixtures.inspectHealthy)
        #expect(inspect.state.running)
        #expect(inspect.state.finishedDate == nil)
        let health = try #require(inspect.state.health)
        #expect(health.status == "healthy")
        #expect(health.failingStreak == 0)
        #expect(health.log.count == 3 && health.log.allSatisfy { $0.exitCode == 0 })
        #expect(inspect.config?.healthcheck?.test == ["CMD-SHELL", "true"])
        #expect(inspect.config?.healthcheck?.interval == 1_000_000_000)
        #expect(inspect.hostConfig?.memory == 67_108_864)
    }

    @Test func events() throws {
        let events = try Fixtures.events.split(separator: "\n").map { try decode(DockerEvent.self, String($0)) }
        #expect(events.map(\.baseAction) == ["create", "die", "health_status"])
        let die = events[1]
        #expect(die.type == "container")
        #expect(die.exitCode == 3)
        #expect(die.name == "hst-fixture-crash")
        #expect(die.actor.attributes["hemostat.test"] == "1")
        #expect(die.timeNano == 1_795_925_765_213_276_002)
        #expect(events[2].healthStatus == "healthy")
        #expect(events[0].healthStatus == nil)
    }

    @Test func dockerTimeKeepsNanosecondsToMicroseconds() throws {
        let date = try #require(DockerTime.parse("2026-11-29T04:16:04.652282191Z"))
        let whole = try #require(DockerTime.parse("2026-11-29T04:16:04Z"))
        #expect(abs(date.timeIntervalSince(whole) - 0.652282191) < 1e-6)
        #expect(DockerTime.parse("0001-01-01T00:00:00Z") == nil)
        #expect(DockerTime.parse("") == nil)
    }

    @Test func hostParsing() throws {
        #expect(try DockerHost(parsing: "unix:///var/run/docker.sock") == .unix(path: "/var/run/docker.sock"))
        #expect(try DockerHost(parsing: "tcp://proxy:2375") == .tcp(host: "proxy", port: 2375))
        #expect(try DockerHost(parsing: "tcp://10.0.0.5") == .tcp(host: "10.0.0.5", port: 2375))
        #expect(try DockerHost.fromEnvironment([:]) == .default)
        #expect(try DockerHost.fromEnvironment(["DOCKER_HOST": "tcp://h:1234"]) == .tcp(host: "h", port: 1234))
        #expect(throws: DockerError.self) { try DockerHost(parsing: "ssh://user@host") }
        #expect(throws: DockerError.self) { try DockerHost(parsing: "tcp://host:99999") }
    }

    @Test func demultiplexesExecOutput() {
        let frame: (UInt8, String) -> [UInt8] = { stream, text in
            let bytes = Array(text.utf8)
            return [stream, 0, 0, 0, 0, 0, 0, UInt8(bytes.count)] + bytes
        }
        #expect(DockerClient.demultiplex(frame(1, "out\n") + frame(2, "err\n")) == "out\nerr\n")
        #expect(DockerClient.demultiplex(Array("plain".utf8)) == "plain")
    }
}
