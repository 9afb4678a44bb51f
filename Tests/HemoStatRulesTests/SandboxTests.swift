import Testing
@testable import HemoStatRules

@Suite struct SandboxTests {
    /// A rule file whose single rule runs `body`, followed by a rule that always decides.
    func evaluate(_ body: String, configuration: RulesConfiguration = RulesConfiguration()) -> RuleEvaluation {
        let e = ruleSet([
            "r/a.lua": """
            rule { name = "probe", priority = 10, when = function(a, h)
            \(body)
            end }
            """,
            "r/b.lua": #"rule { name = "fallback", when = function(a, h) return restart { reason = "still decides" } end }"#,
        ], configuration: configuration)
        #expect(e.status.loadErrors.isEmpty)
        return e.evaluateSync(alert())
    }

    @Test(arguments: [
        "io.open('/etc/passwd')", "os.execute('true')", "package.loaded", "require('os')",
        "load('return 1')", "loadfile('/etc/passwd')", "dofile('/etc/passwd')", "string.dump(print)",
        "debug.getinfo(1)", "coroutine.create(print)", "getmetatable('').__index", "collectgarbage()",
        "rawset(h, 'x', 1)", "pcall(error)",
    ])
    func forbiddenLibrariesAreAbsent(_ code: String) {
        let result = evaluate("local x = \(code)")
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.code == .runtime)
        #expect(result.errors.first?.location == SourceLocation(file: "r/a.lua", line: 2))
        #expect(result.decisive?.rule == "fallback")
    }

    @Test func stringMethodCannotDump() {
        let result = evaluate("local f = ('x').dump")
        // Indexing works, but the function is gone.
        #expect(result.errors.isEmpty)
        let called = evaluate("return restart { reason = tostring(('x').dump) }")
        #expect(called.decisive?.reason == "nil")
    }

    @Test func bytecodeIsRefused() {
        let e = ruleSet(["r/bc.lua": "\u{1B}Lua\u{54}\u{00}garbage"])
        #expect(e.status.loadErrors.first?.code == .syntax)
        #expect(e.status.loadErrors.first?.message.contains("binary") == true)
        #expect(e.status.rules.isEmpty)
    }

    @Test func infiniteLoopHitsTheInstructionLimit() {
        let result = evaluate("while true do end", configuration: RulesConfiguration(instructionLimit: 100_000))
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.code == .instructionLimit)
        #expect(result.errors.first?.location?.file == "r/a.lua")
        #expect(result.errors.first?.rule == "probe")
        #expect(result.decisive?.rule == "fallback")
    }

    /// Rules run without per-instruction counting until they have run for a couple of
    /// milliseconds; then the watchdog arms the count hook and the limit stops them.
    @Test(arguments: [
        "while true do end",
        "for i = 1, math.maxinteger do end",
        "local function f(n) if n == 0 then return 0 end return f(n - 1) + f(n - 1) end return restart { reason = tostring(f(60)) }",
        "while true do h.avg('cpu_percent') end",
        "local s = 0 while true do s = s + #string.format('%d', s) end",
    ])
    func runawayRulesAreStopped(_ body: String) {
        let result = evaluate(body, configuration: RulesConfiguration(instructionLimit: 200_000))
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.code == .instructionLimit)
        #expect(result.errors.first?.rule == "probe")
        #expect(result.decisive?.rule == "fallback")
    }

    @Test func statesAreWatchedSoRulesRunUncounted() {
        let runtime = RuleRuntime(
            sources: [RuleSource(path: "r/a.lua", text: "rule { name = 'a', when = function(a, h) end }")],
            thresholds: [:], instructionLimit: 1000, memoryLimit: 1 << 20)
        #expect(runtime.isWatched)
    }

    @Test func runawayRuleOnTheRuleSetQueueIsStopped() async {
        let e = ruleSet([
            "r/a.lua": "rule { name = 'spin', priority = 1, when = function(a, h) while true do end end }",
            "r/b.lua": "rule { name = 'ok', when = function(a) return restart { reason = 'fine' } end }",
        ], configuration: RulesConfiguration(instructionLimit: 200_000))
        // Dispatch worker threads start with signals blocked; the evaluation unblocks the
        // watchdog's signal for its thread.
        async let one = e.evaluate(alert())
        async let two = e.evaluate(alert())
        for result in await [one, two] {
            #expect(result.errors.first?.code == .instructionLimit)
            #expect(result.decisive?.rule == "ok")
        }
    }

    @Test func runawayFileIsStoppedWhileLoading() {
        let e = ruleSet([
            "r/a.lua": "while true do end",
            "r/b.lua": "rule { name = 'ok', when = function(a) return restart { reason = 'fine' } end }",
        ], configuration: RulesConfiguration(instructionLimit: 200_000))
        #expect(e.status.loadErrors.first?.code == .instructionLimit)
        #expect(e.status.loadErrors.first?.location?.file == "r/a.lua")
        #expect(e.evaluateSync(alert()).decisive?.rule == "ok")
    }

    @Test func memoryBombHitsTheMemoryCap() {
        let result = evaluate(
            "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end",
            configuration: RulesConfiguration(instructionLimit: 100_000_000, memoryLimit: 4 << 20))
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.code == .memoryLimit)
        #expect(result.decisive?.rule == "fallback")
        // The state is still usable afterwards.
    }

    @Test func stateSurvivesLimitsAcrossEvaluations() {
        let e = ruleSet([
            "r/a.lua": "rule { name = 'bomb', priority = 1, when = function(a) local s = string.rep('x', 1 << 30) end }",
            "r/b.lua": "rule { name = 'ok', when = function(a) return restart { reason = 'fine' } end }",
        ], configuration: RulesConfiguration(memoryLimit: 1 << 20))
        for _ in 0..<3 {
            let r = e.evaluateSync(alert())
            #expect(r.errors.first?.code == .memoryLimit)
            #expect(r.decisive?.rule == "ok")
        }
        #expect(e.status.counters["bomb"]?.errors == 3)
        #expect(e.status.counters["ok"]?.decisive == 3)
    }

    @Test func runtimeErrorIsReportedWithFileAndLineAndSkipped() {
        let result = evaluate("local x = nil\nreturn x.field")
        #expect(result.errors.first?.location == SourceLocation(file: "r/a.lua", line: 3))
        #expect(result.errors.first?.message.contains("attempt to index") == true)
        #expect(result.decisive?.rule == "fallback")
    }

    @Test func sharedTablesAreReadOnly() {
        for code in ["config.cpu_percent = 1", "h.sustained = nil", "string.upper = nil", "math.pi = 3"] {
            let result = evaluate(code)
            #expect(result.errors.first?.message.contains("read-only") == true, "\(code)")
        }
    }

    @Test(arguments: [
        "a.exit_code = 0", "a.metrics.cpu_percent = 0", "a.anomalies[1].type = 'none'", "a.anomalies[2] = {}",
        "a.labels.x = 'y'", "a.history[1].cpu_percent = 0", "h.samples()[1].cpu_percent = 0", "h.anomaly('non_zero_exit').value = 0",
    ])
    func theAlertIsReadOnly(_ code: String) {
        let e = ruleSet([
            "r/a.lua": """
            rule { name = "meddler", priority = 10, when = function(a, h)
              \(code)
            end }
            """,
            "r/b.lua": """
            rule { name = "reader", when = function(a, h)
              if a.exit_code == 3 and a.metrics.cpu_percent == 50 and a.anomalies[1].type == "non_zero_exit"
                and a.labels.x == nil and a.history[1].cpu_percent == 40 and h.anomaly("non_zero_exit").value == 3
                and #a.anomalies == 1 then
                return restart { reason = "saw the alert as it came" }
              end
              return false_alarm { reason = "the alert was changed" }
            end }
            """,
        ])
        let result = e.evaluateSync(alert([
            "exit_code": .number(3), "metrics": .object(["cpu_percent": .number(50)]),
            "anomalies": .array([.object(["type": .string("non_zero_exit"), "severity": .string("warning"), "value": .number(3), "threshold": .number(0)])]),
        ], history: [["cpu_percent": .number(40)], ["cpu_percent": .number(50)]]))
        #expect(result.errors.count == 1, "\(code)")
        #expect(result.errors.first?.location == SourceLocation(file: "r/a.lua", line: 2), "\(code)")
        #expect(result.errors.first?.message.contains("the alert is read-only") == true, "\(result.errors)")
        #expect(result.decisive?.rule == "reader" && result.decisive?.reason == "saw the alert as it came", "\(code)")
    }

    @Test func theAlertIsReadLikeATable() {
        let result = evaluate("""
            local keys, n = 0, 0
            for k, v in pairs(a) do keys = keys + 1 end
            for i, x in ipairs(a.anomalies) do n = n + 1 end
            for k, v in pairs(a.metrics) do keys = keys + 1 end
            if keys > 0 and n == #a.anomalies and a == a and a.metrics == a.metrics then
              return restart { reason = "tables" }
            end
            """)
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.decisive?.reason == "tables")
    }

    @Test func unknownNamesAreErrors() {
        #expect(evaluate("local x = config.cpu_pecent").errors.first?.message == "unknown config key 'cpu_pecent'")
        #expect(evaluate("local x = h.sustaind").errors.first?.message == "unknown helper 'sustaind'")
        #expect(evaluate("local x = undefined_thing").errors.first?.message == "unknown global 'undefined_thing'")
    }

    @Test func badReturnValuesAreAPIErrors() {
        let result = evaluate("return true")
        #expect(result.errors.first?.code == .api)
        let bad = evaluate("return restart { confidence = 2, reason = 'x' }")
        #expect(bad.errors.first?.message.contains("confidence") == true)
        #expect(bad.errors.first?.location?.line == 2)
    }
}
