import Foundation
import HemoStatTestSupport
import Testing

/// The deployment files under `deploy/`, checked with the tools operators use on them.
@Suite("Deployment files", .enabled(if: TestEnvironment.integration))
struct DeployTests {
    static let deploy = HemoStatProcess.packageRoot + "/deploy"

    /// `systemd-analyze verify` on both units (their `ExecStart` pointed at the built binary, as
    /// verify checks it exists), and the exposure rating of `systemd-analyze security`.
    @Test func systemdUnitsVerify() async throws {
        let directory = try TestProcess.temporaryDirectory("systemd")
        let binary = try HemoStatProcess.binary()
        for (unit, instance) in [("hemostat.service", "hemostat.service"), ("hemostat@.service", "hemostat@monitor.service")] {
            let text = try String(contentsOfFile: "\(Self.deploy)/systemd/\(unit)", encoding: .utf8)
            #expect(text.contains("ExecStart=/usr/local/bin/hemostat"))
            let path = "\(directory)/\(instance)"
            try text.replacingOccurrences(of: "/usr/local/bin/hemostat", with: binary).write(toFile: path, atomically: true, encoding: .utf8)
            let verify = try await TestProcess.run(["systemd-analyze", "verify", path], currentDirectory: directory)
            #expect(verify.succeeded && verify.stderr.isEmpty, "\(unit): \(verify.stdout)\(verify.stderr)")
            let security = try await TestProcess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", path], currentDirectory: directory)
            let level = security.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") }
            let score = level.flatMap { line in line.split(separator: " ").compactMap { Double($0) }.first }
            #expect(score.map { $0 <= 2.5 } == true, "\(unit): \(level ?? "no rating") \(security.stderr)")
        }
    }
}
