import Foundation
@testable import HemoStatApp
import HemoStatDocker
import HemoStatModel
import HemoStatMonitor
import HemoStatTestSupport
import Testing

/// The figures `docker stats` shows, computed the way the monitor computes them: the engine's
/// stats document (fixtures from Engine 20.10, cgroup v1, and a cgroup v2 sample) through the
/// adapter's ``DockerContainerEngine/reading(_:)`` and ``MetricMath``.
@Suite struct StatsMathTests {
    func stats(_ json: String) throws -> ContainerStats {
        try JSONDecoder().decode(ContainerStats.self, from: Data(json.utf8))
    }

    func metrics(_ stats: ContainerStats, earlier: ContainerStats? = nil) -> (metrics: ContainerMetrics, cpuKnown: Bool) {
        MetricMath.metrics(DockerContainerEngine.reading(stats), earlier: earlier.map(DockerContainerEngine.reading))
    }

    @Test func cgroupV1FromEngine2010() throws {
        let (m, cpuKnown) = metrics(try stats(DockerFixtures.statsCgroupV1))
        // (87850010 - 72727535) / (2831010000000 - 2829000000000) x 2 CPUs x 100
        #expect(cpuKnown)
        #expect(abs(m.cpuPercent - 15_122_475.0 / 2_010_000_000.0 * 200) < 1e-9)
        #expect(m.memoryUsage == 819_200)
        #expect(m.memoryLimit == 67_108_864)
        #expect(m.memoryPercent == 819_200.0 / 67_108_864.0 * 100)
        #expect(m.networkRxBytes == 0 && m.networkTxBytes == 0)
        #expect(m.blkioReadBytes == 0 && m.blkioWriteBytes == 0)
        #expect(m.pids == 2)
    }

    @Test func cgroupV2() throws {
        let (m, cpuKnown) = metrics(try stats(DockerFixtures.statsCgroupV2))
        // (3e8 - 1e8) / (2e10 - 1e10) x 4 CPUs x 100 = 8 %
        #expect(cpuKnown && abs(m.cpuPercent - 8) < 1e-9)
        // usage 10 000 000 - inactive_file 2 000 000
        #expect(m.memoryUsage == 8_000_000)
        #expect(m.memoryPercent == 8)
        #expect(m.networkRxBytes == 1024)
        #expect(m.networkTxBytes == 206)
        #expect(m.blkioReadBytes == 4096)
        #expect(m.blkioWriteBytes == 8192)
        #expect(m.pids == 5)
    }

    @Test func cgroupV1InactiveFileAndBlkioAreCounted() throws {
        var s = try stats(DockerFixtures.statsCgroupV1)
        s.memoryStats?.stats["total_inactive_file"] = 19_200
        s.blkioStats = try JSONDecoder().decode(ContainerStats.BlkioStats.self, from: Data(#"""
        {"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"Read","value":100},{"major":8,"minor":0,"op":"Write","value":30},
         {"major":8,"minor":0,"op":"Sync","value":130},{"major":8,"minor":0,"op":"Total","value":130},
         {"major":8,"minor":16,"op":"Read","value":1}]}
        """#.utf8))
        let m = metrics(s).metrics
        #expect(m.memoryUsage == 800_000)
        #expect(m.blkioReadBytes == 101)
        #expect(m.blkioWriteBytes == 30)
    }

    @Test func cpuFromTheLastCycleWhenTheEngineGaveNoPreviousCounters() throws {
        var first = try stats(DockerFixtures.statsCgroupV2)
        first.precpuStats = nil
        var second = first
        second.cpuStats?.cpuUsage?.totalUsage = 300_000_000 + 500_000_000
        second.cpuStats?.systemCPUUsage = 20_000_000_000 + 10_000_000_000
        // 5e8 / 1e10 x 4 x 100 = 20 %
        let (m, cpuKnown) = metrics(second, earlier: first)
        #expect(cpuKnown && abs(m.cpuPercent - 20) < 1e-9)
        #expect(metrics(second).cpuKnown == false, "one reading without previous counters says nothing about CPU")
    }

    @Test func oneShotSampleWithEmptyPreviousCountersHasNoCPU() throws {
        var s = try stats(DockerFixtures.statsCgroupV1)
        s.precpuStats = try JSONDecoder().decode(ContainerStats.CPUStats.self, from: Data(#"{"cpu_usage":{"total_usage":0},"throttling_data":{}}"#.utf8))
        #expect(metrics(s).cpuKnown == false)
    }

    @Test func sparseStats() throws {
        let s = try stats(#"{"read":"0001-01-01T00:00:00Z","memory_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0}},"blkio_stats":{"io_service_bytes_recursive":null},"pids_stats":{}}"#)
        let (m, cpuKnown) = metrics(s)
        #expect(m.memoryUsage == 0 && m.memoryPercent == 0 && !cpuKnown)
    }

    @Test func podmansRemoveIsReadAsDestroy() throws {
        let json = #"{"Type":"container","Action":"remove","Actor":{"ID":"b1bc5d0c83b2","Attributes":{"name":"pmtest"}},"time":1796508535,"timeNano":1796508535606222341}"#
        let event = DockerContainerEngine.podmanEvent(try JSONDecoder().decode(DockerEvent.self, from: Data(json.utf8)))
        #expect(event.action == "destroy")
        #expect(event.containerName == "pmtest")
    }

    /// A `died` from Podman's own stream (`GET /libpod/events`, Podman 4.3), as it was sent.
    @Test func podmansDiedIsReadAsDieWithItsExitCode() throws {
        let json = #"{"status":"died","id":"ae8ceb351fd0","from":"docker.io/library/bb:1","Type":"container","Action":"died","Actor":{"ID":"ae8ceb351fd0","Attributes":{"containerExitCode":"137","image":"docker.io/library/bb:1","name":"s1","podId":""}},"scope":"local","time":1796514504,"timeNano":1796514504644736362}"#
        let event = DockerContainerEngine.podmanEvent(try JSONDecoder().decode(DockerEvent.self, from: Data(json.utf8)))
        #expect(event.action == "die")
        #expect(event.exitCode == 137)
        #expect(event.containerName == "s1")
        #expect(DockerContainerEngine.podmanActions.contains("died") && DockerContainerEngine.podmanActions.contains("remove"))
        #expect(DockerContainerEngine.podmanActions.contains("stop") && !DockerContainerEngine.podmanActions.contains("die"))
        #expect(DockerContainerEngine.podmanEvent(try JSONDecoder().decode(DockerEvent.self, from: Data(json.utf8))).stopsMayBeMissing)
    }

    /// Podman's `restart` comes before the container stops: it is the stop's request.
    @Test func podmansRestartIsReadAsTheStopItBeginsWith() throws {
        let json = #"{"status":"restart","id":"ae8ceb351fd0","Type":"container","Action":"restart","Actor":{"ID":"ae8ceb351fd0","Attributes":{"name":"rs1"}},"time":1796516023,"timeNano":1796516023056293290}"#
        let decoded = try JSONDecoder().decode(DockerEvent.self, from: Data(json.utf8))
        #expect(DockerContainerEngine.podmanEvent(decoded).action == "stop")
        #expect(DockerContainerEngine.event(decoded).action == "restart", "Docker's restart comes after the start")
    }
}
