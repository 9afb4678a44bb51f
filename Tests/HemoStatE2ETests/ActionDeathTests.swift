import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HemoStatTestSupport
import Testing

/// `Tests/EngineProxy/engine_proxy.py` in front of the private engine's socket, holding the
/// first `POST …/restart` it sees.
final class EngineProxy: Sendable {
    enum Mode: String, Sendable {
        /// The restart never reaches the engine.
        case holdRequest = "hold-request"
        /// The engine restarts the container; its answer never reaches the responder.
        case holdResponse = "hold-response"
    }

    let socket: String
    let heldFile: String
    private let process: ChildProcess

    static let script: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.appendingPathComponent("EngineProxy/engine_proxy.py").path
    }()

    init(mode: Mode, directory: String) async throws {
        let upstream = try TestEnvironment.dockerHost()
        guard upstream.hasPrefix("unix://") else { throw TestEnvironmentError(message: "the test engine is not on a unix socket") }
        socket = directory + "/engine-proxy.sock"
        heldFile = directory + "/engine-proxy.held"
        let process = try ChildProcess(command: [
            "python3", Self.script, "--listen", socket, "--upstream", String(upstream.dropFirst("unix://".count)),
            "--match", #"^POST /v[0-9.]+/containers/[^/]+/restart"#, "--mode", mode.rawValue, "--held", heldFile,
        ])
        self.process = process
        let path = socket
        let up = await holds(within: .seconds(15)) { FileManager.default.fileExists(atPath: path) || !process.isRunning }
        guard up, process.isRunning else {
            await process.kill()
            throw TestEnvironmentError(message: "engine_proxy.py did not start")
        }
    }

    var dockerHost: String { "unix://" + socket }
    var isHolding: Bool { FileManager.default.fileExists(atPath: heldFile) }

    func stop() async {
        await process.kill()
    }
}

/// A responder SIGKILLed at each point of an action, as separate processes against the real
/// engine: whatever the point, the container is restarted exactly once and its incident gets
/// one correct result.
@Suite("End to end: a responder killed during an action", .serialized, .enabled(if: TestEnvironment.integration))
struct ActionDeathTests {
    enum Point: String, CaseIterable, CustomTestStringConvertible {
        /// The restart was sent and never reached the engine.
        case beforeTheEngine
        /// The engine restarted the container; the responder never heard back.
        case afterTheEngine

        var mode: EngineProxy.Mode { self == .beforeTheEngine ? .holdRequest : .holdResponse }
        var testDescription: String { self == .beforeTheEngine ? "the restart never reached the engine" : "the engine's answer never came back" }
    }

    @Test("a responder killed during a restart: restarted once, one result", arguments: Point.allCases)
    func killedDuringARestart(_ point: Point) async throws {
        let stack = try await E2EStack(label: "e2e-death")
        let proxy = try await EngineProxy(mode: point.mode, directory: stack.directory)
        do {
            for agent in ["monitor", "analyzer", "alert"] { try stack.start(agent, [agent]) }
            let responder = try stack.start("responder", ["responder"], environment: ["DOCKER_HOST": proxy.dockerHost])
            try await stack.waitForAgents(["monitor", "analyzer", "responder", "alert"])
            let container = try await stack.startCrashOnce(after: 2)

            let holding = await holds(within: .seconds(90)) { proxy.isHolding }
            #expect(holding, "the responder sent the restart\n\(stack.diagnostics())")
            await responder.kill()
            // Its replacement talks to the engine directly.
            try stack.start("responder", ["responder"])

            // The lease (5 s here) runs out and the replacement takes the action over.
            let done = await holds(within: .seconds(120)) {
                let results = (try? await stack.messages("remediation_complete", container: container.name)) ?? []
                return !results.isEmpty
            }
            #expect(done, "a result was published\n\(stack.diagnostics())")
            // A second result or restart would come within a lease and a verification window.
            try await Task.sleep(for: .seconds(10))

            let events = try await stack.engineEvents(container.name, since: stack.startedAt)
            #expect(events.filter { $0.action == "restart" }.count == 1, "\(container.name): \(events)")
            #expect(try await stack.inspect(container.name, "{{.State.Running}}") == "true")
            let results = try await stack.messages("remediation_complete", container: container.name)
            #expect(results.count == 1, "\(results.map { $0.resultStatus ?? "?" })")
            #expect(results.first?.resultStatus == "success", "\(results.map { $0.data })")
            let incidents = Set(try await stack.messages("health_alert", container: container.name).map(\.incidentID))
            #expect(incidents == Set(results.map(\.incidentID)))
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await proxy.stop()
        await stack.cleanup()
    }
}
