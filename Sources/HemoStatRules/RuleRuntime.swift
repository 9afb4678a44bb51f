import CLua
import HemoStatModel

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
/// Not thread-safe; `RuleSet` pools these. Every call into Lua is a `lua_pcall` with the
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
    /// The evaluation loop (`make_runner(...)` of the prelude).
    private let runnerIndex: Int32 = 6
    /// Its outputs: rule index, value, error message, limit hit, error file, error line.
    private let outRuleIndex: Int32 = 7
    private let outValueIndex: Int32 = 8
    private let outMessageIndex: Int32 = 9
    private let outHitIndex: Int32 = 10
    private let outFileIndex: Int32 = 11
    private let outLineIndex: Int32 = 12
    private let baseTop: Int32 = 12
    /// Registry reference to the array of `when` functions of the enabled rules, in order.
    private var whensRef: Int32 = LUA_NOREF
    /// The rules `whensRef` holds, by position.
    private var enabledRules: [LoadedRule] = []

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
        hs_lua_push_verdict_constructor(L)
        hs_lua_push_seal(L)
        let status = hs_lua_pcall(L, 5, 1, msghIndex)
        precondition(status == LUA_OK, "rules prelude failed: \(lua.string(at: -1) ?? "")")
        // Stack: msgh, module.
        lua_getfield(L, 2, "helpers")
        hs_lua_insert(L, 2)  // msgh, helpers, module
        lua_getfield(L, 3, "state")  // 4
        lua_getfield(L, 3, "verdict_mt")  // 5
        lua_getfield(L, 3, "make_runner")
        hs_lua_push_budget_reset(L)
        hs_lua_push_take_error(L)
        lua_pushvalue(L, msghIndex)
        let made = hs_lua_pcall(L, 3, 1, msghIndex)  // 6
        precondition(made == LUA_OK, "rules runner failed: \(lua.string(at: -1) ?? "")")
        lua_getfield(L, 3, "outputs")
        for i in 1...6 { lua_rawgeti(L, 7, lua_Integer(i)) }  // 8...13
        hs_lua_remove(L, 7)  // 7...12
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
        enabledRules = rules.filter(\.info.enabled)
        whensRef = makeWhens(enabledRules)
        lua.setTop(baseTop)
    }

    /// An array of the rules' `when` functions, in registry; returns its reference.
    private func makeWhens(_ list: [LoadedRule]) -> Int32 {
        let L = lua.L
        lua_createtable(L, Int32(list.count), 0)
        for (i, rule) in list.enumerated() {
            lua_rawgeti(L, hs_lua_registryindex(), lua_Integer(rule.when))
            lua_rawseti(L, -2, lua_Integer(i + 1))
        }
        return luaL_ref(L, hs_lua_registryindex())
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
    func evaluate(_ alert: JSONValue) -> RuleEvaluation {
        evaluate(RuleInput(alert), only: nil)
    }

    /// Evaluates every enabled rule, in order, against `input`.
    func evaluate(_ input: RuleInput) -> RuleEvaluation {
        evaluate(input, only: nil)
    }

    /// Evaluates the enabled rules (or only those named in `only`) against `input`.
    ///
    /// The alert's JSON is decoded into Lua tables in C (its history as columns); the loop
    /// over the rules runs inside Lua (one protected call per rule, each with a fresh
    /// instruction budget and memory allowance re-armed from C); Swift reads back only the
    /// rules that returned something or failed.
    func evaluate(_ input: RuleInput, only: Set<String>?) -> RuleEvaluation {
        let L = lua.L
        lua.setTop(baseTop)
        let selected: [LoadedRule]
        lua_pushvalue(L, runnerIndex)
        if let only {
            selected = enabledRules.filter { only.contains($0.info.name) }
            let ref = makeWhens(selected)
            lua_rawgeti(L, hs_lua_registryindex(), lua_Integer(ref))
            luaL_unref(L, hs_lua_registryindex(), ref)
        } else {
            selected = enabledRules
            lua_rawgeti(L, hs_lua_registryindex(), lua_Integer(whensRef))
        }
        lua_pushvalue(L, helpersIndex)
        // runner, whens, helpers, alert, columns, count, numeric
        var problem = decode(input.alert)
        if problem == nil, input.alert.utf8.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) != UInt8(ascii: "{") {
            problem = "not a JSON object"
        }
        if let problem {
            lua.setTop(baseTop)
            return RuleEvaluation(
                decisive: nil, matches: [],
                errors: [RuleError(code: .invalidInput, message: "alert: \(problem)")],
                rulesEvaluated: 0)
        }
        if case .statsDocument(let document) = input.history {
            lua.setTop(baseTop + 4)
            if let document, decode(document, historyOnly: true) == nil {
                hs_lua_remove(L, -4)  // the document itself (nil)
                if lua_type(L, -3) == LUA_TNIL {  // no history in it
                    lua.setTop(baseTop + 4)
                }
            }
            if lua.top == baseTop + 4 {
                lua_createtable(L, 0, 0)
                lua_pushinteger(L, 0)
                lua_createtable(L, 0, 0)
            }
        }
        lua.arm(instructions: instructionLimit, memory: memoryLimit)
        let status = hs_lua_pcall(L, 6, 1, msghIndex)
        lua.disarm()

        var matches: [RuleVerdict] = []
        var errors: [RuleError] = []
        var decisive: RuleVerdict?
        guard status == LUA_OK else {
            // The loop itself failed (out of memory between rules): report it against every rule.
            let error = takeError(status: status, fallback: SourceLocation(file: "hemostat", line: 0), loading: false)
            lua.setTop(baseTop)
            return RuleEvaluation(decisive: nil, matches: [], errors: [error], rulesEvaluated: selected.count)
        }
        let count = Int(hs_lua_tointeger(L, -1, nil))
        lua.pop()
        for k in 1...max(1, count) where count > 0 {
            let position = Int(lua_rawgeti(L, outRuleIndex, lua_Integer(k)) == LUA_TNUMBER ? hs_lua_tointeger(L, -1, nil) : 0)
            lua.pop()
            guard position >= 1, position <= selected.count else { continue }
            let rule = selected[position - 1]
            lua_rawgeti(L, outHitIndex, lua_Integer(k))
            let hit = Int32(hs_lua_tointeger(L, -1, nil))
            lua.pop()
            if hit >= 0 {
                errors.append(readError(k, hit: hit, rule: rule.info))
                continue
            }
            lua_rawgeti(L, outValueIndex, lua_Integer(k))
            if lua_type(L, -1) == LUA_TTABLE && isVerdict(at: -1) {
                var verdict = readVerdict(at: lua.top, rule: rule.info)
                if rule.info.dryRun { verdict.dryRun = true }
                matches.append(verdict)
                if decisive == nil { decisive = verdict }
            } else {
                errors.append(RuleError(
                    code: .api,
                    message: "rule returned a \(lua.typeName(at: -1)); expected a verdict such as restart{...}, false_alarm{...}, escalate{...}, ambiguous{...}, recheck{...} or nil",
                    location: rule.info.location, rule: rule.info.name))
            }
            lua.pop()
        }
        // Drop the references to this alert's values so the collector can reclaim them.
        for index in [outValueIndex, outMessageIndex] {
            for k in 1...max(1, count) where count > 0 {
                lua_pushnil(L)
                lua_rawseti(L, index, lua_Integer(k))
            }
        }
        lua.setTop(baseTop)
        return RuleEvaluation(decisive: decisive, matches: matches, errors: errors, rulesEvaluated: selected.count)
    }

    /// The failure recorded at output `k` of the last run as a `RuleError`.
    private func readError(_ k: Int, hit: Int32, rule: RuleInfo) -> RuleError {
        let L = lua.L
        lua_rawgeti(L, outFileIndex, lua_Integer(k))
        let file = lua.string(at: -1)
        lua.pop()
        lua_rawgeti(L, outLineIndex, lua_Integer(k))
        let line = Int(hs_lua_tointeger(L, -1, nil))
        lua.pop()
        let recorded = file.flatMap { line > 0 ? SourceLocation(file: $0, line: line) : nil }
        var error: RuleError
        switch hit {
        case 1:  // HS_LIMIT_INSTRUCTIONS
            error = RuleError(
                code: .instructionLimit, message: "instruction limit exceeded (\(instructionLimit) instructions)",
                location: recorded ?? rule.location)
        case 2:  // HS_LIMIT_MEMORY
            error = RuleError(code: .memoryLimit, message: "memory limit exceeded (\(memoryLimit) bytes)", location: rule.location)
        default:
            lua_rawgeti(L, outMessageIndex, lua_Integer(k))
            let raw = lua.string(at: -1) ?? "error object is not a string"
            lua.pop()
            let (prefixed, message) = Self.splitLocation(raw)
            error = RuleError(code: .runtime, message: message, location: recorded ?? prefixed ?? rule.location)
        }
        error.rule = rule.name
        return error
    }

    /// Whether the instruction limit is armed by the watchdog (see `LuaState.isWatched`).
    var isWatched: Bool { lua.isWatched }

    /// Bytes the state holds now.
    var memoryInUse: Int { Int(lua.limits.pointee.used) }

    /// Decodes the JSON `text` onto the stack: the value, then the columns, count and
    /// all-number columns of its `history` array (or three nils). With `historyOnly`, the other members are checked but
    /// not decoded (the value is an empty table). Pushes nothing and returns the problem when
    /// the text is not JSON.
    private func decode(_ text: String, historyOnly: Bool = false) -> String? {
        let L = lua.L
        var text = text
        return text.withUTF8 { bytes -> String? in
            hs_lua_push_json_decode(L)
            lua_pushlightuserdata(L, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            lua_pushinteger(L, lua_Integer(bytes.count))
            lua_pushstring(L, "history")
            lua_pushboolean(L, historyOnly ? 1 : 0)
            let status = hs_lua_pcall(L, 4, 4, msghIndex)
            if status != LUA_OK {
                let problem = lua.string(at: -1) ?? "not JSON"
                lua.pop()
                return problem
            }
            return nil
        }
    }

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
        var parameters: [String: JSONValue] = [:]
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
            fallback: fallback,
            after: lua.field("after", of: index) { lua.number(at: $0) })
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
