import Foundation
import HemoStatTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The way tests start programs: exits are seen whoever else holds the child's descriptors.
@Suite struct ChildProcessTests {
    func scratch() throws -> String { try TestProcess.temporaryDirectory("child") }

    @Test func anExitIsSeenWhileAProgramItStartedRunsOn() async throws {
        // The child leaves a grandchild behind holding everything it inherited.
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try ChildProcess(command: ["sh", "-c", "sleep 30 & echo $! > \(directory)/grandchild; exit 3"])
        #expect(await child.waitForExit(within: .seconds(10)))
        #expect(child.exitStatus == 3)
        if let pid = Int32((try? String(contentsOfFile: directory + "/grandchild", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
            kill(pid, SIGKILL)
        }
    }

    @Test func onlyTheStandardDescriptorsAreInherited() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A descriptor this process left open across exec.
        let leaked = open(directory + "/open", O_CREAT | O_WRONLY, 0o600)
        #expect(leaked > 2)
        defer { close(leaked) }
        let output = directory + "/fds"
        let child = try ChildProcess(command: ["sh", "-c", "ls /proc/$$/fd"], output: .file(output))
        #expect(child.waitUntilExit() == 0)
        let descriptors = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        #expect(!descriptors.contains(Int(leaked)), "\(descriptors)")
        #expect(Set(descriptors).isSuperset(of: [0, 1, 2]), "\(descriptors)")
    }

    @Test func aSignalEndsItWhateverThisProcessBlocksOrIgnores() async throws {
        let child = try ChildProcess(command: ["sleep", "30"])
        child.send(SIGTERM)
        #expect(await child.waitForExit(within: .seconds(10)))
        #expect(child.exitStatus == 128 + SIGTERM)
        // Once it has exited, a signal goes nowhere.
        child.send(SIGKILL)
        #expect(child.exitStatus == 128 + SIGTERM)
    }

    @Test func outputAndErrorsGoToTheirFilesFromTheDirectoryAsked() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await TestProcess.run(["sh", "-c", "pwd; echo oops >&2; exit 4"], currentDirectory: directory)
        #expect(result.status == 4)
        #expect(result.stdout == directory + "\n")
        #expect(result.stderr == "oops\n")
    }

    @Test func aProgramThatCannotBeStartedIsAnError() {
        #expect(throws: ChildProcessError.self) { try ChildProcess(executable: "/nonexistent/program", arguments: []) }
    }
}
