import Foundation
import HemoStatTestSupport
import Testing

/// The built binary started outside a source checkout, as an installed `hemostat` is: it finds
/// its configuration and rules by the documented search order (docs/operations.md, "Where
/// HemoStat finds its files") and says which it uses.
@Suite("End to end: an installed binary", .serialized, .enabled(if: TestEnvironment.integration))
struct InstalledTests {
    @Test("outside a checkout the built-in rules decide, and the commands say which files are in use")
    func outsideACheckout() async throws {
        let stack = try await E2EStack(label: "e2e-installed")
        do {
            let elsewhere = try TestProcess.temporaryDirectory("installed")
            // No rules directory named: the search order decides.
            let environment = try stack.environment(["HEMOSTAT_RULES_DIRECTORY": ""])
            let binary = try HemoStatBinary.path()

            let version = try await TestProcess.run([binary, "--version"], environment: environment, currentDirectory: elsewhere)
            #expect(version.succeeded, "\(version.stderr)")
            #expect(version.stdout.contains("configuration file: none: the defaults built in"), "\(version.stdout)")
            #expect(version.stdout.contains("rules: the default rules built into the binary"), "\(version.stdout)")
            let inCheckout = try await TestProcess.run([binary, "--version"], environment: environment, currentDirectory: HemoStatBinary.packageRoot)
            #expect(inCheckout.stdout.contains("configuration file: config/hemostat.yaml (working directory)"), "\(inCheckout.stdout)")
            #expect(inCheckout.stdout.contains("rules: rules (working directory)"), "\(inCheckout.stdout)")

            let lint = try await TestProcess.run([binary, "rules", "lint"], environment: environment, currentDirectory: elsewhere)
            #expect(lint.succeeded, "the built-in rules are clean: \(lint.stdout) \(lint.stderr)")
            #expect(lint.stderr.contains("rules: the default rules built into the binary"), "\(lint.stderr)")
            let check = try await TestProcess.run([binary, "config", "check"], environment: environment, currentDirectory: elsewhere)
            #expect(check.succeeded, "\(check.stderr)")
            #expect(check.stdout.contains("# rules: the default rules built into the binary"), "\(check.stdout)")

            // A configuration file named by HEMOSTAT_CONFIG is the one in use.
            let file = elsewhere + "/hemostat.yaml"
            try "analyzer:\n  max_alert_age: 5m\n".write(toFile: file, atomically: true, encoding: .utf8)
            let named = try await TestProcess.run(
                [binary, "--version"], environment: environment.merging(["HEMOSTAT_CONFIG": file]) { $1 }, currentDirectory: elsewhere)
            #expect(named.stdout.contains("configuration file: \(file) (HEMOSTAT_CONFIG)"), "\(named.stdout)")

            // An analyzer started there decides a crash with the rules built in.
            try stack.start("analyzer", ["analyzer"], environment: ["HEMOSTAT_RULES_DIRECTORY": ""], workingDirectory: elsewhere)
            try await stack.waitForAgents(["analyzer"])
            let id = "alert-\(UUID().uuidString.prefix(8).lowercased())"
            let now = ISO8601DateFormatter().string(from: Date())
            let alert = #"{"event_type":"health_alert","timestamp":"\#(now)","agent":"monitor","host":"\#(stack.hostID)","id":"\#(id)","data":{"container_id":"c0ffee","container_name":"\#(stack.prefix)-api","image":"busybox","status":"exited","health_status":"none","exit_code":1,"oom_killed":false,"restart_count":0,"anomalies":[{"type":"non_zero_exit","severity":"critical","value":1,"threshold":0}],"source":"event"}}"#
            _ = try await stack.redis.send(["XADD", stack.keyPrefix + "health_alert", "*", "message", alert])
            let requests = try await stack.waitForMessages("remediation_needed", container: "\(stack.prefix)-api", "the crash's restart") { !$0.isEmpty }
            #expect(requests.first?["rule"] as? String == "crash-restart")
            #expect(requests.first?["action"] as? String == "restart")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }
}
