import HemoStatModel
import CLua

/// Owns one `lua_State` and the limits struct its allocator, count hook and message handler
/// use. Single-threaded: one thread at a time (the pool hands a state to one caller).
final class LuaState {
    let L: OpaquePointer
    /// Allocated before the state and freed after it: the allocator writes to it on every
    /// allocation, including those made by `lua_close`.
    let limits: UnsafeMutablePointer<hs_lua_limits>

    init() {
        limits = UnsafeMutablePointer<hs_lua_limits>.allocate(capacity: 1)
        guard let state = hs_lua_newstate(limits) else {
            limits.deallocate()
            fatalError("lua_newstate failed: out of memory")
        }
        L = state
    }

    deinit {
        hs_lua_close(L, limits)
        limits.deallocate()
    }

    var top: Int32 { lua_gettop(L) }

    func setTop(_ index: Int32) { lua_settop(L, index) }

    func pop(_ n: Int32 = 1) { hs_lua_pop(L, n) }

    /// Arms the instruction and memory limits for the next protected call.
    func arm(instructions: Int, memory: Int) {
        hs_lua_limits_arm(L, limits, Int64(instructions), max(0, memory))
    }

    func disarm() { hs_lua_limits_disarm(L, limits) }

    /// Whether a watchdog slot arms the instruction limit only for rules that run long
    /// (`false`: every instruction is counted).
    var isWatched: Bool { limits.pointee.slot >= 0 }

    /// The limit the last protected call ran into, if any.
    var limitHit: Int32 { limits.pointee.hit }

    /// The rule-file position the message handler recorded for the last error.
    var errorLocation: SourceLocation? {
        let line = Int(limits.pointee.err_line)
        guard line > 0 else { return nil }
        return SourceLocation(file: String(cString: hs_lua_limits_err_file(limits)), line: line)
    }

    // MARK: reading values

    func string(at index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let p = hs_lua_tolstring(L, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
    }

    func number(at index: Int32) -> Double? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        return hs_lua_tonumber(L, index, nil)
    }

    func bool(at index: Int32) -> Bool { lua_toboolean(L, index) != 0 }

    func typeName(at index: Int32) -> String {
        String(cString: lua_typename(L, lua_type(L, index)))
    }

    /// Reads field `key` of the table at `index` with `read`, leaving the stack as it was.
    func field<T>(_ key: StaticString, of index: Int32, _ read: (Int32) -> T) -> T {
        _ = key.withUTF8Buffer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { lua_getfield(L, index, $0.baseAddress) }
        }
        defer { pop() }
        return read(-1)
    }

    /// Converts the Lua value at `index` into a `JSONValue` (Lua integers become integers; tables
    /// with only 1…n integer keys
    /// become arrays; functions and other non-data values become `null`).
    func value(at index: Int32, depth: Int = 0) -> JSONValue {
        switch lua_type(L, index) {
        case LUA_TBOOLEAN: return .bool(bool(at: index))
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(Int(lua_tointegerx(L, index, nil))) }
            return .number(hs_lua_tonumber(L, index, nil))
        case LUA_TSTRING: return .string(string(at: index) ?? "")
        case LUA_TTABLE:
            guard depth < 32, lua_checkstack(L, 3) != 0 else { return .null }
            let table = lua_absindex(L, index)
            // A read-only view of the alert (seal.h) is converted as the table it shows.
            lua_pushvalue(L, table)
            defer { pop() }
            if hs_lua_unseal(L, -1) != 0 { return value(at: -1, depth: depth) }
            let length = Int(lua_rawlen(L, table))
            // Counted first so that each value is converted once: converting the members and
            // then the elements again would double the work at every level of nesting.
            var count = 0
            lua_pushnil(L)
            while lua_next(L, table) != 0 {
                count += 1
                pop()
            }
            if length > 0 && count == length {
                var array: [JSONValue] = []
                array.reserveCapacity(length)
                for i in 1...length {
                    lua_rawgeti(L, table, lua_Integer(i))
                    array.append(value(at: -1, depth: depth + 1))
                    pop()
                }
                return .array(array)
            }
            var object: [String: JSONValue] = [:]
            lua_pushnil(L)
            while lua_next(L, table) != 0 {
                let v = value(at: -1, depth: depth + 1)
                if lua_type(L, -2) == LUA_TSTRING, let k = string(at: -2) {
                    object[k] = v
                } else if lua_type(L, -2) == LUA_TNUMBER {
                    object[formatKey(hs_lua_tonumber(L, -2, nil))] = v
                }
                pop()
            }
            return .object(object)
        default:
            return .null
        }
    }

    private func formatKey(_ n: Double) -> String {
        n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
    }

    // MARK: pushing values

    func push(_ value: JSONValue) {
        switch value {
        case .null: lua_pushnil(L)
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let n): lua_pushinteger(L, lua_Integer(n))
        case .number(let n): pushNumber(n)
        case .string(let s): push(s)
        case .array(let elements):
            guard lua_checkstack(L, 2) != 0 else { lua_pushnil(L); return }
            lua_createtable(L, Int32(clamping: elements.count), 0)
            for (i, element) in elements.enumerated() {
                push(element)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
        case .object(let members):
            guard lua_checkstack(L, 2) != 0 else { lua_pushnil(L); return }
            guard lua_checkstack(L, 3) != 0 else { lua_pushnil(L); return }
            lua_createtable(L, 0, Int32(clamping: members.count))
            for (key, member) in members {
                if case .null = member { continue }
                push(key)
                push(member)
                lua_rawset(L, -3)
            }
        }
    }

    func pushNumber(_ n: Double) {
        if n.rounded() == n, abs(n) < 9.0e15 {
            lua_pushinteger(L, lua_Integer(n))
        } else {
            lua_pushnumber(L, n)
        }
    }

    func push(_ s: String) {
        let pushed: Bool? = s.utf8.withContiguousStorageIfAvailable { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
            return true
        }
        if pushed == nil {
            var copy = s
            copy.withUTF8 { buffer in
                buffer.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
            }
        }
    }
}
