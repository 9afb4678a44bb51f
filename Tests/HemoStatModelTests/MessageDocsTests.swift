import Foundation
@testable import HemoStatModel
import Testing

/// The repository's root directory.
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct MessageDocsTests {
    /// Every JSON example in docs/messages.md (and the redis-cli one) is a valid message.
    @Test func documentedExamplesDecode() throws {
        let docs = try String(contentsOf: packageRoot.appendingPathComponent("docs/messages.md"), encoding: .utf8)
        var examples: [String] = []
        for block in docs.components(separatedBy: "```json\n").dropFirst() {
            examples.append(String(block.prefix { $0 != "`" }))
        }
        if let start = docs.range(of: "message '"), let end = docs[start.upperBound...].range(of: "}'") {
            examples.append(String(docs[start.upperBound..<end.lowerBound]) + "}")
        }
        #expect(examples.count == 7)
        var channels: Set<Channel> = []
        for example in examples {
            let message = try Message.decode(example)
            channels.insert(message.channel)
        }
        #expect(channels == Set(Channel.allCases))
    }
}
