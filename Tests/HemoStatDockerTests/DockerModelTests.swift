import Foundation
import HemoStatTestSupport
import Testing
@testable import HemoStatDocker

private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(json.utf8))
}

@Suite struct DockerModelTests {
    @Test func cgroupV1StatsFromEngine2010() throws {
        let stats = try decode(ContainerStats.self, DockerFixtures.statsCgroupV1)
        #expect(stats.networks == nil)
        #expect(stats.cpuStats?.cpuUsage?.percpuUsage?.count == 2)
        #expect(stats.cpuStats?.cpuUsage?.totalUsage == 87_850_010)
        #expect(stats.precpuStats?.systemCPUUsage == 2_829_000_000_000)
        #expect(stats.memoryStats?.stats["total_inactive_file"] == 0)
        #expect(stats.memoryStats?.limit == 67_108_864)
        #expect(stats.pidsStats?.current == 2)
    }

    @Test func cgroupV2Stats() throws {
        let stats = try decode(ContainerStats.self, DockerFixtures.statsCgroupV2)
        #expect(stats.cpuStats?.cpuUsage?.percpuUsage == nil)
        #expect(stats.cpuStats?.onlineCPUs == 4)
        #expect(stats.blkioStats?.ioServicedRecursive == nil)
        #expect(stats.memoryStats?.stats["inactive_file"] == 2_000_000)
        #expect(stats.networks?.values.reduce(0) { $0 + ($1.rxBytes ?? 0) } == 1024)
    }

    @Test func sparseStatsDecode() throws {
        let stats = try decode(ContainerStats.self, #"{"read":"0001-01-01T00:00:00Z","memory_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0}},"blkio_stats":{"io_service_bytes_recursive":null},"pids_stats":{}}"#)
        #expect(stats.memoryStats?.usage == nil)
        #expect(stats.blkioStats?.ioServiceBytesRecursive == nil)
        #expect(stats.precpuStats == nil)
    }

    @Test func containerList() throws {
        let list = try decode([ContainerSummary].self, DockerFixtures.containerList)
        #expect(list.count == 2)
        let web = try #require(list.first { $0.name == "hst-fixture-web" })
        #expect(web.state == "running")
        #expect(web.labels == ["app": "web", "hemostat.test": "1"])
        #expect(list.first { $0.name == "hst-fixture-crash" }?.state == "exited")
    }

    @Test func inspectExitedContainer() throws {
        let inspect = try decode(ContainerInspect.self, DockerFixtures.inspectExited)
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
        let inspect = try decode(ContainerInspect.self, DockerFixtures.inspectHealthy)
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
        let events = try DockerFixtures.events.split(separator: "\n").map { try decode(DockerEvent.self, String($0)) }
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
