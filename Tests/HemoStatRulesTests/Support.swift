import Foundation
import HemoStatModel
import Logging
@testable import HemoStatRules

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The repository's `rules/` directory.
let defaultRulesDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("rules").path
}()

func ruleSet(_ files: [String: String], configuration: RulesConfiguration = RulesConfiguration()) -> RuleSet {
    RuleSet(
        sources: files.map { RuleSource(path: $0.key, text: $0.value) }, configuration: configuration, logger: quietLogger)
}

/// An alert from the test defaults plus `fields`, with `history` samples 30 s apart.
func alert(_ fields: [String: JSONValue] = [:], history: [[String: JSONValue]] = []) -> JSONValue {
    var a = RuleTestRunner.baseAlert.merging(fields) { _, new in new }
    var samples: [JSONValue] = []
    for (i, sample) in history.enumerated() {
        var s = sample
        s["timestamp"] = .number(1_700_000_000 + Double(i) * 30)
        samples.append(.object(s))
    }
    a["history"] = .array(samples)
    return .object(a)
}

func series(_ field: String, _ values: [JSONValue]) -> [[String: JSONValue]] {
    values.map { [field: $0] }
}

/// A temporary directory removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("hemostat-rules-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        // Make the change visible to an mtime+size check even within the same second.
        let stamp = Date().addingTimeInterval(Double.random(in: 1...1000))
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: file)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}
