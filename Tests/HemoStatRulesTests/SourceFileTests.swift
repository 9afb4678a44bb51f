import Foundation
import HemoStatRules
import HemoStatTestSupport
import Testing

/// The code that is not Swift lives in files of its own (embedded at build time); each must at
/// least compile for its own tool.
@Suite struct SourceFileTests {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// The files under `folders` (relative to the repository) ending in `suffix`.
    static func files(_ folders: [String], suffix: String) -> [String] {
        folders.flatMap { folder -> [String] in
            let directory = root.appendingPathComponent(folder).path
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return names.filter { $0.hasSuffix(suffix) }.sorted().map { directory + "/" + $0 }
        }
    }

    @Test func everyLuaFileCompiles() async throws {
        let files = Self.files(
            ["rules"] + ["Rules", "Core", "Analyzer", "Responder", "Alert"].map { "Sources/HemoStat\($0)/Lua" }, suffix: ".lua")
        #expect(files.count >= 15, "\(files)")
        for file in files {
            let result = try await TestProcess.run(["luac5.4", "-p", file])
            #expect(result.succeeded, "\(file): \(result.stderr)")
        }
    }

    @Test func everyPythonFileCompiles() async throws {
        let files = Self.files(
            ["Sources/HemoStatTestSupport/Python", "Tests/EngineProxy", "Tests/FakeLLM", "Tests/browser", "bench/e2e", "bench/dashboard"],
            suffix: ".py")
        #expect(files.count >= 8, "\(files)")
        let result = try await TestProcess.run(["python3", "-c", "import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)"] + files)
        #expect(result.succeeded, "\(result.stderr)")
    }

    /// The rules built into the binary are the source tree's `rules/*.lua`, every one of them
    /// (a new file needs its link in `Sources/HemoStatRules/DefaultRules/` and its entry in
    /// `DefaultRules.sources`).
    @Test func theBuiltInRulesAreTheRulesDirectory() throws {
        let files = Self.files(["rules"], suffix: ".lua")
        #expect(DefaultRules.sources.map { ($0.path as NSString).lastPathComponent } == files.map { ($0 as NSString).lastPathComponent })
        for (source, file) in zip(DefaultRules.sources, files) {
            #expect(source.text == (try String(contentsOfFile: file, encoding: .utf8)), "\(file)")
        }
    }
}
