import Foundation
import HemoStatTestSupport
import HemoStatModel
import Testing
@testable import HemoStatRules

@Suite struct EngineTests {
    @Test func priorityOrdersRulesAndFirstDecisiveWins() {
        let e = ruleSet([
            "r/a.lua": """
            rule { name = "low", priority = 1, when = function(a) return restart { reason = "low" } end }
            rule { name = "silent", priority = 50, when = function(a) end }
            """,
            "r/b.lua": """
            rule { name = "high", priority = 100, when = function(a)
              return false_alarm { confidence = 0.6, reason = "high" }
            end }
            """,
        ])
        #expect(e.status.rules.map(\.name) == ["high", "silent", "low"])
        let r = e.evaluateSync(alert())
        #expect(r.decisive?.rule == "high")
        #expect(r.decisive?.confidence == 0.6)
        #expect(r.decisive?.location == SourceLocation(file: "r/b.lua", line: 2))
        #expect(r.matches.map(\.rule) == ["high", "low"])
        #expect(r.rulesEvaluated == 3)
    }

    @Test func verdictFieldsReachSwift() throws {
        let e = ruleSet(["r/a.lua": """
            rule { name = "amb", dry_run = true, when = function(a, h)
              return ambiguous { reason = "unsure", confidence = 0.3,
                fallback = kill { reason = "fallback", params = { signal = "SIGTERM" } } }
            end }
            rule { name = "mem", when = function(a) return update_resources { reason = "grow", params = { memory_limit = 512 * 1024 * 1024 }, dry_run = true } end }
            """])
        let r = e.evaluateSync(alert())
        let amb = try #require(r.matches.first)
        #expect(amb.kind == .ambiguous)
        #expect(amb.dryRun)
        let fallback = try #require(amb.fallback?.verdict)
        #expect(fallback.action == .kill)
        #expect(fallback.parameters["signal"] == "SIGTERM")
        let mem = try #require(r.matches.last)
        #expect(mem.action == .updateResources)
        #expect(mem.parameters["memory_limit"] == .number(536_870_912))
        #expect(mem.dryRun)
    }

    @Test func loadErrorsAreReportedWithFileAndLine() {
        let e = ruleSet([
            "r/syntax.lua": "rule { name = 'x', when = function(a) return end\n",
            "r/api.lua": "rule { name = 'y' }\n",
            "r/typo.lua": "\n\nrule { name = 'z', priorty = 3, when = function() end }",
            "r/good.lua": "rule { name = 'good', when = function() end }",
        ])
        let errors = Dictionary(uniqueKeysWithValues: e.status.loadErrors.map { ($0.location?.file ?? "", $0) })
        #expect(errors["r/syntax.lua"]?.code == .syntax)
        #expect(errors["r/api.lua"]?.description == "r/api.lua:1: rule 'y': when must be a function(alert, h)")
        #expect(errors["r/typo.lua"]?.location?.line == 3)
        #expect(errors["r/typo.lua"]?.message == "rule{...}: unknown field 'priorty'")
        #expect(e.status.rules.map(\.name) == ["good"])
    }

    @Test func duplicateNamesAcrossFilesAreRejected() {
        let e = ruleSet([
            "r/a.lua": "rule { name = 'same', when = function() end }",
            "r/b.lua": "rule { name = 'same', when = function() end }",
        ])
        #expect(e.status.rules.count == 1)
        #expect(e.status.loadErrors.first?.location?.file == "r/b.lua")
    }

    @Test func asyncEvaluateMatchesSync() async {
        let e = ruleSet(["r/a.lua": "rule { name = 'r', when = function(a) return restart { reason = a.container_name } end }"])
        async let one = e.evaluate(alert(["container_name": "one"]))
        async let two = e.evaluate(alert(["container_name": "two"]))
        let (a, b) = await (one, two)
        #expect(a.decisive?.reason == "one")
        #expect(b.decisive?.reason == "two")
    }

    @Test func alertFromJSON() throws {
        let json = #"{"container_name":"web","exit_code":137,"oom_killed":true,"labels":{"a":"b"},"history":[{"timestamp":1.5}]}"#
        let value = try JSONValue.parse(json)
        #expect(value["exit_code"] == .number(137))
        #expect(value["oom_killed"] == .bool(true))
        #expect(value["labels"]?["a"] == "b")
        #expect(throws: MessageDecodingError.self) { try JSONValue.parse("{") }
    }
}

@Suite struct HotReloadTests {
    @Test func editTakesEffectAndBrokenEditKeepsLastGood() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("a.lua", "rule { name = 'r', when = function() return restart { reason = 'v1' } end }")
        let e = try RuleSet(configuration: RulesConfiguration(directory: dir.path), logger: quietLogger)
        #expect(e.evaluateSync(alert()).decisive?.reason == "v1")
        let firstGeneration = e.status.generation

        try dir.write("a.lua", "rule { name = 'r', when = function() return restart { reason = 'v2' } end }")
        #expect(try e.reloadIfChanged())
        #expect(e.evaluateSync(alert()).decisive?.reason == "v2")
        #expect(e.status.generation > firstGeneration)

        try dir.write("a.lua", "rule { name = 'r', when = function() return restart { reason = 'v3' } end")
        #expect(try e.reloadIfChanged() == false)
        #expect(e.evaluateSync(alert()).decisive?.reason == "v2")
        #expect(e.status.loadErrors.first?.code == .syntax)
        #expect(e.status.loadErrors.first?.location?.file == dir.path + "/a.lua")

        try dir.write("b.lua", "rule { name = 'other', priority = 5, when = function() return false_alarm { reason = 'b' } end }")
        #expect(try e.reloadIfChanged())
        #expect(e.evaluateSync(alert()).decisive?.rule == "other")
        #expect(e.status.loadErrors.count == 1)

        try dir.write("a.lua", "rule { name = 'r', priority = 9, when = function() return restart { reason = 'v4' } end }")
        #expect(try e.reloadIfChanged())
        #expect(e.status.loadErrors.isEmpty)
        #expect(e.evaluateSync(alert()).decisive?.reason == "v4")

        try FileManager.default.removeItem(atPath: dir.path + "/a.lua")
        #expect(try e.reloadIfChanged())
        #expect(e.status.rules.map(\.name) == ["other"])
        #expect(try e.reloadIfChanged() == false)
    }

    @Test func watchPicksUpEdits() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("a.lua", "rule { name = 'r', when = function() return restart { reason = 'v1' } end }")
        let e = try RuleSet(configuration: RulesConfiguration(directory: dir.path), logger: quietLogger)
        let watcher = Task { await e.watch(every: .milliseconds(20)) }
        defer { watcher.cancel() }
        try dir.write("a.lua", "rule { name = 'r', when = function() return restart { reason = 'v2' } end }")
        try await eventually("the edit taken up") { await e.evaluate(alert()).decisive?.reason == "v2" }
    }
}
