import Foundation
@testable import HemoStatAnalyzer
@testable import HemoStatModel
@testable import HemoStatMonitor
import HemoStatRules
import Logging
import Synchronization

let analyzerQuietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The repository's `rules/` directory.
let repositoryRulesDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("rules").path
}()

enum AnalyzerFixtures {
    static func alert(
        name: String = "web", status: String = "running", health: String = "healthy", exitCode: Int = 0, oom: Bool = false,
        cpu: Double = 10, memory: Double = 40, labels: [String: String] = [:], anomalies: [Anomaly] = [],
        stoppedByOperator: Bool = false
    ) -> HealthAlert {
        HealthAlert(
            containerID: "c0ffee\(name.count)", containerName: name, image: "nginx:1.27", status: status, healthStatus: health,
            exitCode: exitCode, oomKilled: oom, restartCount: 0, labels: labels, stoppedByOperator: stoppedByOperator,
            metrics: ContainerMetrics(cpuPercent: cpu, memoryPercent: memory, memoryUsage: 100_000_000, memoryLimit: 268_435_456),
            anomalies: anomalies, source: .poll)
    }

    static func envelope(_ alert: HealthAlert, at date: Date = Date()) -> Envelope<HealthAlert> {
        Envelope(agent: "monitor", host: "node-1", data: alert, timestamp: date)
    }

    /// High CPU with only one minute of history: the default rules call it ambiguous.
    static var ambiguousCPU: HealthAlert {
        alert(cpu: 97, anomalies: [Anomaly(type: .highCPU, severity: .warning, value: 97, threshold: 85)])
    }

    static func cpuHistory(_ values: [Double], end: Double = 1_700_000_000) -> [JSONValue] {
        values.enumerated().map { i, v in
            [
                "timestamp": .number(end - Double(values.count - 1 - i) * 30), "cpu_percent": .number(v),
                "memory_percent": 40, "restart_count": 0, "status": "running", "health_status": "healthy",
            ]
        }
    }

    static func statsDocument(history: [JSONValue]) -> String {
        JSONValue.object(["history": .array(history)]).jsonText
    }
}

/// An LLM transport answering from a script, recording every request.
final class ScriptedTransport: LLMTransport {
    let requests = Mutex<[LLMHTTPRequest]>([])
    private let script: Mutex<[Result<LLMHTTPResponse, LLMError>]>

    init(_ script: [Result<LLMHTTPResponse, LLMError>]) {
        self.script = Mutex(script)
    }

    var count: Int { requests.withLock { $0.count } }

    func send(_ request: LLMHTTPRequest) async throws -> LLMHTTPResponse {
        requests.withLock { $0.append(request) }
        let next = script.withLock { s -> Result<LLMHTTPResponse, LLMError>? in s.isEmpty ? nil : s.removeFirst() }
        switch next {
        case .success(let response)?: return response
        case .failure(let error)?: throw error
        case nil: return LLMHTTPResponse(status: 500, body: Array("no more answers".utf8))
        }
    }

    static func anthropic(_ answer: String, status: Int = 200) -> Result<LLMHTTPResponse, LLMError> {
        let body: JSONValue = [
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [["type": "text", "text": .string(answer)]],
            "stop_reason": "end_turn", "usage": ["input_tokens": 120, "output_tokens": 30],
        ]
        return .success(LLMHTTPResponse(status: status, headers: ["content-type": "application/json"], body: Array(body.jsonText.utf8)))
    }

    static func openAI(_ answer: String) -> Result<LLMHTTPResponse, LLMError> {
        let body: JSONValue = [
            "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-test",
            "choices": [["index": 0, "message": ["role": "assistant", "content": .string(answer)], "finish_reason": "stop"]],
            "usage": ["prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120],
        ]
        return .success(LLMHTTPResponse(status: 200, body: Array(body.jsonText.utf8)))
    }

    static func status(_ code: Int, headers: [String: String] = [:]) -> Result<LLMHTTPResponse, LLMError> {
        .success(LLMHTTPResponse(status: code, headers: headers, body: Array(#"{"error":{"type":"x"}}"#.utf8)))
    }
}

/// Records the waits a retry policy asks for instead of sleeping.
final class RecordedSleeps: Sendable {
    let waits = Mutex<[Duration]>([])
    var policy: LLMRetryPolicy {
        LLMRetryPolicy(maxAttempts: 3, sleep: { [self] d in self.waits.withLock { $0.append(d) } })
    }
}
