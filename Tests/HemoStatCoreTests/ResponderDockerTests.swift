import Foundation
@testable import HemoStatApp
@testable import HemoStatCore
import HemoStatDocker
import HemoStatHTTP
@testable import HemoStatModel
import HemoStatRedis
@testable import HemoStatResponder
import HemoStatTestSupport
import Logging
import Synchronization
import Testing

/// The responder against the real Redis and the private Docker engine. What it did is counted
/// on the engine's own events stream.
@Suite(.enabled(if: TestEnvironment.integration))
struct ResponderDockerTests {
    let http: HTTPClient
    let docker: DockerClient
    let faults: FaultContainers

    /// Docker event actions that change a container. (Exec events are left out: health checks
    /// run as execs, and no test here asks for an exec.)
    static let mutating: Set<String> = ["start", "restart", "stop", "kill", "pause", "unpause", "update"]

    init() throws {
        var logger = Logger(label: "responder-docker-test")
        logger.logLevel = .critical
        http = HTTPClient(logger: logger)
        docker = DockerClient(host: try DockerHost(parsing: TestEnvironment.dockerHost()), httpClient: http, logger: logger)
        faults = try FaultContainers(prefix: TestEnvironment.uniquePrefix("resp"))
    }

    /// Records the engine's container events for this test's containers from now on.
    final class Recorder: Sendable {
        private let seen = Mutex<[(name: String, action: String)]>([])
        private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

        init(docker: DockerClient, prefix: String) {
            let stream = docker.events(filters: ["type": ["container"], "label": ["hemostat.test=1"]], since: Date())
            let task = Task { [weak self] in
                do {
                    for try await event in stream where event.name?.hasPrefix(prefix) == true {
                        self?.seen.withLock { $0.append((event.name ?? "", event.baseAction)) }
                    }
                } catch {}
            }
            self.task.withLock { $0 = task }
        }

        func actions(_ name: String) -> [String] {
            seen.withLock { $0.filter { $0.name == name }.map(\.action) }
        }

        func mutating(_ name: String) -> [String] {
            actions(name).filter { ResponderDockerTests.mutating.contains($0) }
        }

        func stop() {
            task.withLock { $0?.cancel() }
        }
    }

    /// A container that exits with code 1 once, and after a restart keeps running.
    func crashOnce() async throws -> String {
        let name = "\(faults.prefix)-\(UUID().uuidString.prefix(6).lowercased())"
        try await faults.docker([
            "run", "-d", "--name", name, "--network", "none", "--label", "hemostat.test=1", faults.image,
            "sh", "-c", "if [ -f /crashed ]; then exec sleep 3600; else touch /crashed; sleep 1; exit 1; fi",
        ])
        return name
    }

    func waitExited(_ name: String, engine: DockerRemediationEngine, h: ResponderHarness) async throws {
        try await eventually("\(name) exited", timeout: .seconds(30)) { try await engine.inspect(name)?.status == "exited" }
    }

    func cleanUp(_ h: ResponderHarness, _ names: [String]) async {
        if !names.isEmpty { _ = try? await faults.docker(["rm", "-f", "-v"] + names) }
        await faults.removeAll()
        await h.cleanUp()
        http.shutdown()
    }

    func harness(_ engine: any RemediationEngine, configure: (inout ResponderConfiguration) -> Void = { _ in }) throws -> ResponderHarness {
        try ResponderHarness(actingEngine: engine) {
            $0.verificationWindow = .seconds(3)
            $0.verificationInterval = .milliseconds(200)
            configure(&$0)
        }
    }

    @Test func aCrashedContainerIsRestartedAndVerified() async throws {
        let engine = DockerRemediationEngine(client: docker)
        let h = try harness(engine)
        let name = try await crashOnce()
        try await waitExited(name, engine: engine, h: h)
        let recorder = Recorder(docker: docker, prefix: faults.prefix)
        try await h.running([h.service()]) {
            try await h.publish(h.request(name))
            try await eventually("verified", timeout: .seconds(30)) { try await !h.completions(name).isEmpty }
        }
        recorder.stop()
        #expect(try await h.completions(name).map(\.result.status) == [.success])
        #expect(recorder.mutating(name).filter { $0 == "restart" }.count == 1)
        #expect(try await engine.inspect(name)?.status == "running")
        await cleanUp(h, [name])
    }

    @Test func aCrashLoopOpensTheBreakerAfterThreeAttemptsAndThereIsNoFourth() async throws {
        let engine = DockerRemediationEngine(client: docker)
        // The container exits a second after each start; a window far longer than that keeps a
        // slow start on a loaded machine from passing for a fix. The fault coming back ends the
        // window early, so this costs no time.
        let h = try harness(engine) { $0.verificationWindow = .seconds(15) }
        let loop = try await faults.start(.crash(exitCode: 1, after: 1))
        try await waitExited(loop.name, engine: engine, h: h)
        let recorder = Recorder(docker: docker, prefix: faults.prefix)
        try await h.running([h.service()]) {
            for n in 1...4 {
                try await h.publish(h.request(loop.name, alertID: "alert-\(n)"))
                try await eventually("request \(n) reported", timeout: .seconds(30)) { try await h.completions(loop.name).count == n }
                try await waitExited(loop.name, engine: engine, h: h)
            }
        }
        recorder.stop()
        #expect(try await h.completions(loop.name).map(\.result.status) == [.ineffective, .ineffective, .ineffective, .rejected])
        #expect(recorder.mutating(loop.name).filter { $0 == "restart" }.count == 3)
        #expect(try await h.escalations().count == 1)
        await cleanUp(h, [])
    }

    @Test func duplicatesAndRacesProduceExactlyOneAction() async throws {
        let engine = DockerRemediationEngine(client: docker)
        let h = try harness(engine)
        let same = try await crashOnce()
        let raced = try await crashOnce()
        try await waitExited(same, engine: engine, h: h)
        try await waitExited(raced, engine: engine, h: h)
        let recorder = Recorder(docker: docker, prefix: faults.prefix)
        // One decision delivered twice, and two decisions for one container at once.
        try await h.publish(h.request(same, alertID: "alert-same"))
        try await h.publish(h.request(same, alertID: "alert-same"))
        try await h.publish(h.request(raced, alertID: "alert-a", incidentID: "a"))
        try await h.publish(h.request(raced, alertID: "alert-b", incidentID: "b"))
        try await h.running([h.service(), h.service()]) {
            try await eventually("all handled", timeout: .seconds(30)) {
                let sameCount = try await h.completions(same).count
                let racedCount = try await h.completions(raced).count
                return sameCount == 1 && racedCount == 2
            }
        }
        recorder.stop()
        #expect(recorder.mutating(same).filter { $0 == "restart" }.count == 1)
        #expect(recorder.mutating(raced).filter { $0 == "restart" }.count == 1)
        await cleanUp(h, [same, raced])
    }

    @Test func dryRunProducesNoMutatingEvent() async throws {
        let engine = DockerRemediationEngine(client: docker)
        let h = try harness(engine)
        let crashed = try await faults.start(.crash(exitCode: 2, after: 0))
        let busy = try await faults.start(.healthy)
        try await waitExited(crashed.name, engine: engine, h: h)
        let recorder = Recorder(docker: docker, prefix: faults.prefix)
        try await h.running([h.service(dryRun: true)]) {
            try await h.publish(h.request(crashed.name, .restart))
            try await h.publish(h.request(busy.name, .kill))
            try await h.publish(h.request(busy.name, .pause, alertID: "p"))
            try await h.publish(h.request(busy.name, .updateResources, alertID: "u", parameters: ActionParameters(memoryLimit: 64 << 20)))
            try await eventually("all reported", timeout: .seconds(30)) { try await h.completions().count == 4 }
        }
        // Give any stray event time to arrive before looking.
        // The engine reports an action within milliseconds: one taken after the answers would show.
        try await Task.sleep(for: .milliseconds(500))
        recorder.stop()
        #expect(recorder.mutating(crashed.name).isEmpty)
        #expect(recorder.mutating(busy.name).isEmpty)
        #expect(try await h.completions().allSatisfy { $0.dryRun })
        await cleanUp(h, [])
    }

    @Test func protectedAndOperatorStoppedContainersAreNeverTouched() async throws {
        let engine = DockerRemediationEngine(client: docker)
        let h = try harness(engine)
        let protected = try await faults.start(.crash(exitCode: 1, after: 0), labels: ["hemostat.protect": "true"])
        let optedOut = try await faults.start(.crash(exitCode: 1, after: 0), labels: ["hemostat.enable": "false"])
        let stopped = try await faults.start(.healthy)
        try await faults.docker(["stop", "-t", "1", stopped.name])
        for name in [protected.name, optedOut.name, stopped.name] { try await waitExited(name, engine: engine, h: h) }
        let recorder = Recorder(docker: docker, prefix: faults.prefix)
        try await h.running([h.service()]) {
            for name in [protected.name, optedOut.name, stopped.name] { try await h.publish(h.request(name)) }
            try await eventually("all reported", timeout: .seconds(30)) { try await h.completions().count == 3 }
        }
        // The engine reports an action within milliseconds: one taken after the answers would show.
        try await Task.sleep(for: .milliseconds(500))
        recorder.stop()
        for name in [protected.name, optedOut.name, stopped.name] {
            #expect(recorder.mutating(name).isEmpty, "\(name) was touched: \(recorder.actions(name))")
        }
        let stoppedResult = try await h.completions(stopped.name).first?.result
        #expect(stoppedResult?.reason.hasPrefix("stopped_by_operator") == true, "\(String(describing: stoppedResult))")
        await cleanUp(h, [])
    }

    @Test func redisRestartedMidActionCausesNoCrashAndNoDuplicate() async throws {
        let server = try RedisServerProcess()
        let engine = HeldEngine(DockerRemediationEngine(client: docker))
        let h = try ResponderHarness(actingEngine: engine, redisURL: server.tcpURL) {
            $0.verificationWindow = .seconds(3)
            $0.verificationInterval = .milliseconds(200)
        }
        let name = try await crashOnce()
        try await waitExited(name, engine: DockerRemediationEngine(client: docker), h: h)
        let recorder = Recorder(docker: docker, prefix: faults.prefix)
        try await h.running([h.service()]) {
            try await h.publish(h.request(name, alertID: "alert-r"))
            try await eventually("action in progress") { engine.entered }
            try server.restart()
            engine.release()
            try await eventually("result published after the restart", timeout: .seconds(30)) {
                (try? await h.completions(name).isEmpty == false) ?? false
            }
            try await h.publish(h.request(name, alertID: "alert-r"))
            try await eventually("re-published request audited") {
                ((try? await h.auditRecords()) ?? []).contains { $0["gate"]?["decision"]?.stringValue == "duplicate" }
            }
        }
        recorder.stop()
        #expect(recorder.mutating(name).filter { $0 == "restart" }.count == 1)
        #expect(try await h.completions(name).map(\.result.status) == [.success])
        server.stop()
        await cleanUp(h, [name])
    }
}

/// Holds every action until released.
final class HeldEngine: RemediationEngine {
    private let inner: any RemediationEngine
    private let state = Mutex((entered: false, released: false))

    init(_ inner: any RemediationEngine) {
        self.inner = inner
    }

    var entered: Bool { state.withLock { $0.entered } }
    func release() { state.withLock { $0.released = true } }

    func inspect(_ container: String) async throws -> ContainerInspection? {
        try await inner.inspect(container)
    }

    func perform(_ command: EngineCommand, on container: String) async throws {
        state.withLock { $0.entered = true }
        while !state.withLock({ $0.released }) { try await Task.sleep(for: .milliseconds(10)) }
        try await inner.perform(command, on: container)
    }

    func actions(on container: String, since: Date) async throws -> [String] {
        try await inner.actions(on: container, since: since)
    }
}
