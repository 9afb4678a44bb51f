package import HemoStatRedis

/// The safety gate's Lua scripts, each a file of its own under `Lua/` (embedded in the binary at
/// build time; `luac -p` checks them in the tests), each run after `gate-clock.lua` with EVALSHA,
/// so what it changes changes in one atomic step. The agents keep their own scripts the same
/// way (`Sources/HemoStat<Agent>/Lua/`).
///
/// These scripts own every piece of safety state in Redis:
///
/// Safety state (cooldowns, hourly counters, circuit breakers, in-flight locks, holds) is only
/// ever changed by these scripts, run with EVALSHA, so a decision and its bookkeeping happen in
/// one atomic step: two responders can never both act on one container.
///
/// Time is Redis' own clock (`TIME`), so responders on machines whose clocks differ share one
/// time line: a cooldown, a window or a lease means the same to all of them. A caller may pass
/// its own time instead (milliseconds since the epoch, not 0), so tests can move time without
/// sleeping. Keys carry a real expiry as well, only so that abandoned state does not live
/// forever.
///
/// Keys, under a namespace `NS` (`hemostat:gate` for real actions, `hemostat:dryrun:gate` for
/// dry-run, so simulated budgets never consume real ones), per container `C`:
///
/// | key | type | holds |
/// |---|---|---|
/// | `NS:c:C` | hash | cooldown_until, breaker_state, breaker_opened_at, breaker_escalated, hold_until, hold_by, hold_reason, last_action, last_result, last_at, last_request, last_rejection |
/// | `NS:c:C:actions` | sorted set | request ids of actions allowed, scored by time (sliding hour) |
/// | `NS:c:C:failures` | sorted set | failed or ineffective remediations, scored by time |
/// | `NS:c:C:lock` | string | `request_id|expires_at_ms` of the action in flight |
/// | `NS:global:actions` | sorted set | every allowed action on this Redis, for the global cap |
/// | `NS:req:R` | string | the decision already made for request `R` (idempotency) |
/// | `NS:c:C:reported` | string | `incident|reason` of the last refusal reported before the gate |
enum GateScripts {
    static let gateAcquire = gate(PackageResources.gate_acquire_lua)
    static let gateComplete = gate(PackageResources.gate_complete_lua)
    static let gateRenew = gate(PackageResources.gate_renew_lua)
    static let gateTakeOver = gate(PackageResources.gate_take_over_lua)
    static let gateOperatorCommand = gate(PackageResources.gate_operator_command_lua)
    static let gateNoteRefusal = RedisScript(embedded: PackageResources.gate_note_refusal_lua)

    /// A gate script: `now_ms` (`gate-clock.lua`) first.
    private static func gate(_ file: [UInt8]) -> RedisScript {
        RedisScript(embedded: PackageResources.gate_clock_lua + file)
    }
}

extension RedisScript {
    /// A script from a file embedded at build time (`PackageResources`).
    package init(embedded file: [UInt8]) {
        self.init(String(decoding: file, as: UTF8.self))
    }
}
