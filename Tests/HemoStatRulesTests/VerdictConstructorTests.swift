@testable import HemoStatModel
@testable import HemoStatRules
import Testing

/// The verdict constructors rules call: what they accept, what they refuse and the message.
@Suite struct VerdictConstructorTests {
    func evaluate(_ expression: String) -> RuleEvaluation {
        let e = ruleSet(["r/v.lua": "rule { name = 'v', when = function(a, h)\n  return \(expression)\nend }"])
        #expect(e.status.loadErrors.isEmpty)
        return e.evaluateSync(alert())
    }

    @Test func fieldsAreRead() throws {
        let r = evaluate("kill { reason = 'stuck', confidence = 0.25, dry_run = true, params = { signal = 'SIGTERM' } }")
        let v = try #require(r.decisive)
        #expect(v.kind == .act)
        #expect(v.action == .kill)
        #expect(v.reason == "stuck")
        #expect(v.confidence == 0.25)
        #expect(v.dryRun)
        #expect(v.parameters == ["signal": "SIGTERM"])
        #expect(v.location == SourceLocation(file: "r/v.lua", line: 2))
    }

    @Test func shortFormsAndDefaults() throws {
        let v = try #require(evaluate("restart 'exited'").decisive)
        #expect(v.action == .restart)
        #expect(v.reason == "exited")
        #expect(v.confidence == 1)
        #expect(!v.dryRun)
        #expect(try #require(evaluate("false_alarm { reason = 'fine' }").decisive).action == RuleAction.none)
        #expect(try #require(evaluate("escalate { reason = 'look' }").decisive).action == .notify)
        #expect(try #require(evaluate("act { action = 'pause', reason = 'calm' }").decisive).action == .pause)
    }

    @Test func ambiguousCarriesItsFallback() throws {
        let v = try #require(evaluate("ambiguous { reason = 'ask', fallback = restart { reason = 'anyway', confidence = 0.5 } }").decisive)
        #expect(v.kind == .ambiguous)
        #expect(v.fallback?.verdict.action == .restart)
        #expect(v.fallback?.verdict.confidence == 0.5)
    }

    @Test func recheckCarriesWhenToLookAgain() throws {
        let v = try #require(evaluate("recheck { after = 90, reason = 'not long enough yet' }").decisive)
        #expect(v.kind == .recheck)
        #expect(v.action == RuleAction.none)
        #expect(v.after == 90)
        #expect(v.reason == "not long enough yet")
        let plain = try #require(evaluate("recheck 'wait for the next sample'").decisive)
        #expect(plain.kind == .recheck)
        #expect(plain.after == nil)
        let asked = try #require(evaluate("ambiguous { reason = 'ask', fallback = recheck { after = 30, reason = 'wait' } }").decisive)
        #expect(asked.fallback?.verdict.kind == .recheck)
        #expect(asked.fallback?.verdict.after == 30)
    }

    @Test(arguments: [
        ("restart(3)", "restart{...} expects a table of fields"),
        ("restart(restart 'x')", "restart{...} expects a table of fields"),
        ("restart { reason = 'x', colour = 1 }", "restart{...}: unknown field 'colour'"),
        ("restart { reason = 'x', [1] = 2 }", "restart{...}: unknown field '1'"),
        ("restart { reason = 'x', action = 'kill' }", "restart{...}: field 'action' is only for act{...}"),
        ("restart { reason = 'x', fallback = restart 'y' }", "restart{...}: field 'fallback' is only for ambiguous{...}"),
        ("restart { reason = 'x', confidence = 2 }", "restart{...}: confidence must be a number from 0 to 1"),
        ("restart { reason = 'x', confidence = '0.5' }", "restart{...}: confidence must be a number from 0 to 1"),
        ("restart { reason = 'x', confidence = 0/0 }", "restart{...}: confidence must be a number from 0 to 1"),
        ("restart { }", "restart{...}: reason must be a non-empty string"),
        ("restart { reason = '' }", "restart{...}: reason must be a non-empty string"),
        ("restart { reason = 'x', dry_run = 1 }", "restart{...}: dry_run must be true or false"),
        ("restart { reason = 'x', params = 'a' }", "restart{...}: params must be a table"),
        ("ambiguous { reason = 'x', fallback = 1 }", "ambiguous{...}: fallback must be a verdict such as restart{...} or false_alarm{...}"),
        ("ambiguous { reason = 'x', fallback = ambiguous 'y' }", "ambiguous{...}: fallback cannot itself be ambiguous"),
        ("restart { reason = 'x', after = 5 }", "restart{...}: field 'after' is only for recheck{...}"),
        ("recheck { reason = 'x', after = 0 }", "recheck{...}: after must be a number of seconds from 1 to 86400"),
        ("recheck { reason = 'x', after = 86401 }", "recheck{...}: after must be a number of seconds from 1 to 86400"),
        ("recheck { reason = 'x', after = '60' }", "recheck{...}: after must be a number of seconds from 1 to 86400"),
        ("recheck { reason = 'x', after = 0/0 }", "recheck{...}: after must be a number of seconds from 1 to 86400"),
        ("act { reason = 'x' }", "act{...}: action must be one of restart, start, stop, kill, pause, unpause, update_resources, exec, notify, none"),
        ("act { reason = 'x', action = 'rm' }", "act{...}: action must be one of restart, start, stop, kill, pause, unpause, update_resources, exec, notify, none"),
    ])
    func mistakesAreReportedAtTheCall(_ expression: String, _ message: String) {
        let r = evaluate(expression)
        #expect(r.decisive == nil)
        #expect(r.errors.count == 1)
        #expect(r.errors.first?.code == .runtime)
        #expect(r.errors.first?.message == message)
        #expect(r.errors.first?.location == SourceLocation(file: "r/v.lua", line: 2))
    }
}
