import Foundation
import HemoStatTestSupport
import Testing

/// HemoStat's image (deploy/Dockerfile, built by scripts/image.sh on the private engine before
/// the tests: `HEMOSTAT_TEST_APP_IMAGE`) run as operators run it: alone with the engine's
/// socket mounted, and with Redis through deploy/compose.yaml.
/// The image built for the tests, when one was.
private let testImage = ProcessInfo.processInfo.environment["HEMOSTAT_TEST_APP_IMAGE"].flatMap { $0.isEmpty ? nil : $0 }

@Suite("End to end: the image and compose", .serialized, .enabled(if: TestEnvironment.integration && testImage != nil))
struct ImageTests {
    static var image: String? { testImage }

    /// The private engine's socket, its group, and `docker` against it.
    static func socket() throws -> (path: String, group: String) {
        let host = try TestEnvironment.dockerHost()
        let path = String(host.dropFirst("unix://".count))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let group = (attributes[.groupOwnerAccountID] as? NSNumber)?.stringValue ?? "0"
        return (path, group)
    }

    @Test("the containerised HemoStat heals a crashing container and leaves itself alone")
    func imageHeals() async throws {
        let stack = try await E2EStack(label: "e2e-image")
        let name = "\(stack.prefix)-hemostat"
        do {
            let image = try #require(Self.image)
            let (socket, group) = try Self.socket()
            let port = try RedisServerProcess.freePort()
            let redisPort = try #require(ProcessInfo.processInfo.environment["HEMOSTAT_TEST_REDIS_PORT"])
            // The engine has no default bridge: the container shares the host's network to reach
            // the test Redis on loopback.
            try await stack.faults.docker([
                "run", "-d", "--name", name, "--network", "host", "--group-add", group,
                "-v", "\(socket):/var/run/docker.sock",
                "-e", "REDIS_URL=redis://127.0.0.1:\(redisPort)", "-e", "HEMOSTAT_REDIS_KEY_PREFIX=\(stack.keyPrefix)",
                "-e", "HEMOSTAT_HOST_ID=\(stack.hostID)", "-e", "HEMOSTAT_MONITOR_INCLUDE=\(stack.prefix)-*",
                "-e", "AGENT_POLL_INTERVAL=1s", "-e", "RESPONDER_COOLDOWN_SECONDS=2s",
                "-e", "HEMOSTAT_RESPONDER_VERIFICATION_WINDOW=3s", "-e", "HEMOSTAT_DASHBOARD_PORT=\(port)",
                image, "run",
            ])
            try await stack.waitForAgents(["monitor", "analyzer", "responder", "alert"])
            let healthy = await holds { (try? await TestProcess.run(["curl", "-sf", "http://127.0.0.1:\(port)/healthz"]))?.succeeded ?? false }
            #expect(healthy, "/healthz of the containerised HemoStat answers")

            let container = try await stack.startCrashOnce()
            let results = try await stack.waitForMessages("remediation_complete", container: container.name, timeout: .seconds(120), "the restart's result") {
                !$0.isEmpty
            }
            #expect(results.first?.resultStatus == "success", "\(results.map(\.data))")
            #expect(try await stack.inspect(container.name, "{{.State.Running}}") == "true")
            let restarts = try await stack.engineEvents(container.name, since: stack.startedAt).filter { $0.action == "restart" }
            #expect(restarts.count == 1, "\(restarts)")
            // Its own container is watched (its name is under the include pattern) but excluded;
            // its stats document comes with a poll, which a loaded machine may make late.
            var own = ""
            let sampled = await holds {
                own = (try? await stack.redis.send(["GET", "\(stack.keyPrefix)stats:\(stack.hostID)/\(name)"]).string) ?? ""
                return !own.isEmpty
            }
            if !(sampled && own.contains("\"excluded\":true")) {
                let logs = (try? await stack.faults.docker(["logs", "--tail", "60", name]))?.stderr ?? ""
                Issue.record("no excluded stats document of its own container: \(own)\n--- container logs:\n\(logs)")
            }

            // docker stop: SIGTERM, and the process is gone within its bound.
            let started = ContinuousClock.now
            try await stack.faults.docker(["stop", "-t", "15", name])
            #expect(ContinuousClock.now - started < .seconds(12))
            #expect(try await stack.inspect(name, "{{.State.ExitCode}}") == "0")
        } catch {
            let logs = (try? await stack.faults.docker(["logs", "--tail", "40", name]))?.stderr ?? ""
            Issue.record("\(error)\n--- container logs:\n\(logs)\n\(stack.diagnostics())")
        }
        _ = try? await stack.faults.docker(["rm", "-f", name])
        await stack.cleanup()
    }

    @Test("deploy/compose.yaml brings up Redis and HemoStat, heals a crashing container, and comes down")
    func composeHeals() async throws {
        let stack = try await E2EStack(label: "e2e-compose")
        let project = stack.prefix.replacingOccurrences(of: "-", with: "")
        let (socket, group) = try Self.socket()
        let settings = stack.directory + "/hemostat.env"
        let environment: [String: String] = [
            "DOCKER_HOST": try TestEnvironment.dockerHost(), "DOCKER_API_VERSION": "1.41",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HEMOSTAT_IMAGE": Self.image ?? "", "REDIS_PASSWORD": "compose-\(UUID().uuidString.prefix(8))",
            "DOCKER_GID": group, "DOCKER_SOCKET": socket, "HEMOSTAT_HOST_ID": stack.hostID, "HEMOSTAT_ENV_FILE": settings,
        ]
        let compose = ["docker-compose", "-p", project, "-f", HemoStatBinary.packageRoot + "/deploy/compose.yaml"]
        do {
            try """
            HEMOSTAT_MONITOR_INCLUDE=\(stack.prefix)-*
            AGENT_POLL_INTERVAL=1s
            RESPONDER_COOLDOWN_SECONDS=2s
            HEMOSTAT_RESPONDER_VERIFICATION_WINDOW=3s
            """.write(toFile: settings, atomically: true, encoding: .utf8)
            let up = try await TestProcess.run(compose + ["up", "-d"], environment: environment)
            #expect(up.succeeded, "\(up.stdout)\(up.stderr)")
            let container = try await stack.startCrashOnce()
            let restarted = await holds(within: .seconds(120)) {
                ((try? await stack.engineEvents(container.name, since: stack.startedAt)) ?? []).contains { $0.action == "restart" }
            }
            let logs = try await TestProcess.run(compose + ["logs", "--tail", "30", "hemostat"], environment: environment)
            #expect(restarted, "the crash was healed\n\(logs.stdout)")
            #expect(try await stack.inspect(container.name, "{{.State.Running}}") == "true")
            let redisHealth = try await stack.inspect("\(project)_redis_1", "{{.State.Health.Status}}")
            #expect(redisHealth == "healthy")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        let down = try? await TestProcess.run(compose + ["down", "-v", "-t", "15"], environment: environment)
        #expect(down?.succeeded == true, "\(down?.stderr ?? "")")
        await stack.cleanup()
    }
}
