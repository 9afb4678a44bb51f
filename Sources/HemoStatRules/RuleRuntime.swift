import CLua

/// The text of one rule file, as loaded.
public struct RuleSource: Sendable, Hashable {
    /// The path used in locations (`rules/crash.lua`).
    public var path: String
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// One Lua state with a rule set loaded into it: evaluates alerts one at a time.
///
/// Not thread-safe; `RulesEngine` pools these. Every call into Lua is a `lua_pcall` with the
/// limits armed; Swift frames are never unwound by a Lua error.
final class RuleRuntime {
    struct LoadedRule {
        var info: RuleInfo
        var when: Int32
    }

    private let lua: LuaState
    private(set) var rules: [LoadedRule] = []
    private(set) var loadErrors: [RuleError] = []
    /// Files that loaded without error.
    private(set) var loadedFiles: Set<String> = []
    let instructionLimit: Int
    let memoryLimit: Int

    // Fixed stack slots, set up once.
    private let msghIndex: Int32 = 1
    private let helpersIndex: Int32 = 2
    private let moduleIndex: Int32 = 3
    private let stateIndex: Int32 = 4
    private let verdictMTIndex: Int32 = 5
    private let baseTop: Int32 = 5

    init(sources: [RuleSource], thresholds: [String: Double], instructionLimit: Int, memoryLimit: Int) {
        self.instructionLimit = instructionLimit
        self.memoryLimit = memoryLimit
        lua = LuaState()
        let L = lua.L
        hs_lua_open_sandbox_libs(L)
        hs_lua_gc_generational(L)
        hs_lua_push_msgh(L)  // 1

        var prelude = Prelude.source
        let loaded = prelude.withUTF8 { text in
            hs_lua_load_text(L, text.baseAddress, text.count, Prelude.chunkName)
        }
        precondition(loaded == LUA_OK, "rules prelude does not compile: \(lua.string(at: -1) ?? "")")
        hs_lua_push_wrap_with_caller(L)
        hs_lua_push_function_line(L)
        lua_createtable(L, 0, Int32(thresholds.count))
        for (key, value) in thresholds {
            lua.pushNumber(value)
            lua_setfield(L, -2, key)
        }
        let status = hs_lua_pcall(L, 3, 1, msghIndex)
        precondition(status == LUA_OK, "rules prelude failed: \(lua.string(at: -1) ?? "")")
        // Stack: msgh, module.
        lua_getfield(L, 2, "helpers")
        hs_lua_insert(L, 2)  // msgh, helpers, module
        lua_getfield(L, 3, "state")  // 4
        lua_getfield(L, 3, "verdict_mt")  // 5
        precondition(lua.top == baseTop)

        // Strip what the prelude no longer needs from the real globals.
        hs_lua_pushglobaltable(L)
        for name in ["load", "loadfile", "dofile", "require", "collectgarbage", "print", "setmetatable",
                     "getmetatable", "rawset", "pcall", "xpcall"] {
            lua_pushnil(L)
            lua_setfield(L, -2, name)
        }
        lua.pop()

        var names: [String: SourceLocation] = [:]
        for source in sources.sorted(by: { $0.path < $1.path }) {
            load(source, names: &names)
        }
        // Higher priority first; equal priorities keep file order, then definition order.
        rules = rules.enumerated().sorted { a, b in
            if a.element.info.priority != b.element.info.priority {
                return a.element.info.priority > b.element.info.priority
            }
            return a.offset < b.offset
        }.map(\.element)
        lua.setTop(baseTop)
    }

    private func load(_ source: RuleSource, names: inout [String: SourceLocation]) {
        let L = lua.L
        lua.setTop(baseTop)
        lua_getfield(L, moduleIndex, "load_file")
        lua.push(source.text)
        lua.push(source.path)
        lua.arm(instructions: instructionLimit, memory: memoryLimit)
        let status = hs_lua_pcall(L, 2, 2, msghIndex)
        lua.disarm()
        let fileStart = SourceLocation(file: source.path, line: 0)
        if status != LUA_OK {
            loadErrors.append(takeError(status: status, fallback: fileStart, loading: true))
            return
        }
        if lua_type(L, -2) == LUA_TNIL {
            let raw = lua.string(at: -1) ?? "syntax error"
            // Lua shortens long chunk names in messages; the file is known, keep only the line.
            let (location, message) = Self.splitLocation(raw)
            loadErrors.append(RuleError(
                code: .syntax, message: message,
                location: SourceLocation(file: source.path, line: location?.line ?? 0)))
            return
        }
        lua.pop()  // the nil second result
        let list = lua.top
        var fileRules: [LoadedRule] = []
        var fileErrors: [RuleError] = []
        let count = Int(lua_rawlen(L, list))
        for i in 0..<count {
            lua_rawgeti(L, list, lua_Integer(i + 1))
            let entry = lua.top
            let name = lua.field("name", of: entry) { lua.string(at: $0) } ?? "?"
            let file = lua.field("file", of: entry) { lua.string(at: $0) } ?? source.path
            let line = lua.field("line", of: entry) { lua.number(at: $0) } ?? 0
            let location = SourceLocation(file: file, line: Int(line))
            if let previous = names[name] {
                fileErrors.append(RuleError(
                    code: .api, message: "rule '\(name)' is already defined at \(previous)", location: location,
                    rule: name))
                lua.pop()
                continue
            }
            let info = RuleInfo(
                name: name,
                priority: lua.field("priority", of: entry) { lua.number(at: $0) } ?? 0,
                description: lua.field("description", of: entry) { lua.string(at: $0) } ?? "",
                location: location,
                enabled: lua.field("enabled", of: entry) { lua.bool(at: $0) },
                dryRun: lua.field("dry_run", of: entry) { lua.bool(at: $0) })
            lua_getfield(L, entry, "when")
            let ref = luaL_ref(L, hs_lua_registryindex())
            fileRules.append(LoadedRule(info: info, when: ref))
            lua.pop()
        }
        if fileErrors.isEmpty {
            for rule in fileRules { names[rule.info.name] = rule.info.location }
            rules.append(contentsOf: fileRules)
            loadedFiles.insert(source.path)
        } else {
            for rule in fileRules { luaL_unref(L, hs_lua_registryindex(), rule.when) }
            loadErrors.append(contentsOf: fileErrors)
        }
        lua.setTop(baseTop)
    }

    /// Evaluates every enabled rule, in order, against `alert`.
    func evaluate(_ alert: RuleValue) -> RuleEvaluation {
        evaluate(alert, only: nil)
    }

    /// Evaluates the enabled rules (or only those named in `only`) against `alert`.
    func evaluate(_ alert: RuleValue, only: Set<String>?) -> RuleEvaluation {
        let L = lua.L
        lua.setTop(baseTop)
        lua.push(alert)
        let alertIndex = lua.top
        lua_pushvalue(L, alertIndex)
        lua_setfield(L, stateIndex, "alert")

        var matches: [RuleVerdict] = []
        var errors: [RuleError] = []
        var decisive: RuleVerdict?
        var evaluated = 0
        for rule in rules where rule.info.enabled {
            if let only, !only.contains(rule.info.name) { continue }
            evaluated += 1
            lua_rawgeti(L, hs_lua_registryindex(), lua_Integer(rule.when))
            lua_pushvalue(L, alertIndex)
            lua_pushvalue(L, helpersIndex)
            lua.arm(instructions: instructionLimit, memory: memoryLimit)
            let status = hs_lua_pcall(L, 2, 1, msghIndex)
            lua.disarm()
            if status != LUA_OK {
                var error = takeError(status: status, fallback: rule.info.location, loading: false)
                error.rule = rule.info.name
                errors.append(error)
                lua.setTop(alertIndex)
                continue
            }
            switch lua_type(L, -1) {
            case LUA_TNIL:
                break
            case LUA_TTABLE where isVerdict(at: -1):
                var verdict = readVerdict(at: lua.top, rule: rule.info)
                if rule.info.dryRun { verdict.dryRun = true }
                matches.append(verdict)
                if decisive == nil { decisive = verdict }
            default:
                errors.append(RuleError(
                    code: .api,
                    message: "rule returned a \(lua.typeName(at: -1)); expected a verdict such as restart{...}, false_alarm{...}, escalate{...}, ambiguous{...} or nil",
                    location: rule.info.location, rule: rule.info.name))
            }
            lua.setTop(alertIndex)
        }
        lua_pushnil(L)
        lua_setfield(L, stateIndex, "alert")
        lua.setTop(baseTop)
        return RuleEvaluation(decisive: decisive, matches: matches, errors: errors, rulesEvaluated: evaluated)
    }

    /// Bytes the state holds now.
    var memoryInUse: Int { Int(lua.limits.pointee.used) }

    private func isVerdict(at index: Int32) -> Bool {
        guard lua_getmetatable(lua.L, index) != 0 else { return false }
        defer { lua.pop() }
        return lua_rawequal(lua.L, -1, verdictMTIndex) != 0
    }

    private func readVerdict(at index: Int32, rule: RuleInfo) -> RuleVerdict {
        let L = lua.L
        let kind = VerdictKind(rawValue: lua.field("kind", of: index) { lua.string(at: $0) } ?? "") ?? .ambiguous
        let action = RuleAction(rawValue: lua.field("action", of: index) { lua.string(at: $0) } ?? "") ?? .none
        let file = lua.field("file", of: index) { lua.string(at: $0) } ?? rule.location.file
        let line = lua.field("line", of: index) { lua.number(at: $0) } ?? 0
        var parameters: [String: RuleValue] = [:]
        if lua_getfield(L, index, "params") == LUA_TTABLE {
            switch lua.value(at: -1) {
            case .object(let o): parameters = o
            case .array(let a): for (i, v) in a.enumerated() { parameters[String(i + 1)] = v }
            default: break
            }
        }
        lua.pop()
        var fallback: RuleVerdict?
        if lua_getfield(L, index, "fallback") == LUA_TTABLE {
            fallback = readVerdict(at: lua.top, rule: rule)
        }
        lua.pop()
        return RuleVerdict(
            kind: kind,
            action: action,
            confidence: lua.field("confidence", of: index) { lua.number(at: $0) } ?? 0,
            reason: lua.field("reason", of: index) { lua.string(at: $0) } ?? "",
            rule: rule.name,
            location: SourceLocation(file: file, line: Int(line)),
            ruleLocation: rule.location,
            dryRun: lua.field("dry_run", of: index) { lua.bool(at: $0) },
            parameters: parameters,
            fallback: fallback)
    }

    /// Turns the error on top of the stack after a failed pcall into a `RuleError`.
    private func takeError(status: Int32, fallback: SourceLocation, loading: Bool) -> RuleError {
        let recorded = lua.errorLocation
        if lua.limitHit == 1 {  // HS_LIMIT_INSTRUCTIONS
            return RuleError(
                code: .instructionLimit,
                message: "instruction limit exceeded (\(instructionLimit) instructions)",
                location: recorded ?? fallback)
        }
        if status == LUA_ERRMEM {
            return RuleError(
                code: .memoryLimit, message: "memory limit exceeded (\(memoryLimit) bytes)", location: fallback)
        }
        let raw = lua.string(at: -1) ?? "error object is a \(lua.typeName(at: -1)) value"
        let (prefixed, message) = Self.splitLocation(raw)
        return RuleError(code: loading ? .api : .runtime, message: message, location: recorded ?? prefixed ?? fallback)
    }

    /// Splits Lua's `chunk:line: message` into its parts.
    static func splitLocation(_ raw: String) -> (SourceLocation?, String) {
        let firstLine = raw.prefix { $0 != "\n" }
        var search = firstLine.startIndex
        while let colon = firstLine[search...].firstIndex(of: ":") {
            let afterColon = firstLine.index(after: colon)
            let digits = firstLine[afterColon...].prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, let line = Int(digits) {
                let end = digits.endIndex
                if end < firstLine.endIndex, firstLine[end] == ":" {
                    let file = String(firstLine[..<colon])
                    var rest = raw[firstLine.index(after: end)...]
                    if rest.first == " " { rest = rest.dropFirst() }
                    return (SourceLocation(file: file, line: line), String(rest))
                }
            }
            search = afterColon
        }
        return (nil, raw)
    }
}
