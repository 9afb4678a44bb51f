#ifndef HEMOSTAT_CLUA_VERDICT_H
#define HEMOSTAT_CLUA_VERDICT_H

/* ---------------------------------------------------------------------------------------
 * The verdict constructors rules call (`restart{...}`, `false_alarm{...}`, `recheck{...}`, ...), in C: they
 * check the fields and build the verdict table without running Lua code.
 *
 * verdict_constructor(verdict_mt, actions, kind, action, name) -> a function f(spec) that
 * returns a verdict (a table with `verdict_mt` as metatable) of that kind and action
 * (`action` nil: read from spec.action, which must be a key of `actions`), recording the
 * caller's line. Errors name the constructor and carry no position: the rule's file and line
 * are found by the message handler.
 * ------------------------------------------------------------------------------------- */

static int hs_verdict_fail(lua_State *L, const char *format, const char *name, const char *detail) {
    lua_pushfstring(L, format, name, detail);
    return lua_error(L);
}

static int hs_verdict_is(lua_State *L, int index) {
    if (lua_type(L, index) != LUA_TTABLE || !lua_getmetatable(L, index)) return 0;
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    return same;
}

static int hs_verdict_known_field(const char *key, size_t length) {
    static const char *const fields[] = { "confidence", "reason", "dry_run", "params", "fallback", "action", "after" };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strlen(fields[i]) == length && memcmp(fields[i], key, length) == 0) return 1;
    }
    return 0;
}

static int hs_lua_construct_verdict(lua_State *L) {
    const char *name = lua_tostring(L, lua_upvalueindex(5));
    const char *kind = lua_tostring(L, lua_upvalueindex(3));
    int ambiguous = strcmp(kind, "ambiguous") == 0;
    int is_act = strcmp(name, "act") == 0;
    int is_recheck = strcmp(kind, "recheck") == 0;
    lua_Debug ar;
    int line = 0;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar)) line = ar.currentline;

    lua_settop(L, 1);
    int type = lua_type(L, 1);
    if (type == LUA_TSTRING) {
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, 1);
        lua_setfield(L, -2, "reason");
        lua_replace(L, 1);
    } else if (type == LUA_TNIL) {
        lua_createtable(L, 0, 0);
        lua_replace(L, 1);
    } else if (type != LUA_TTABLE || hs_verdict_is(L, 1)) {
        return hs_verdict_fail(L, "%s{...} expects a table of fields%s", name, "");
    }
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        size_t length = 0;
        const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &length) : NULL;
        if (key == NULL || !hs_verdict_known_field(key, length)) {
            const char *shown = luaL_tolstring(L, -1, NULL);
            return hs_verdict_fail(L, "%s{...}: unknown field '%s'", name, shown);
        }
    }
    /* Stack: spec(1), action(2), fallback(3), confidence(4), reason(5), dry_run(6), params(7),
     * after(8) */
    lua_getfield(L, 1, "action");
    lua_getfield(L, 1, "fallback");
    lua_getfield(L, 1, "confidence");
    lua_getfield(L, 1, "reason");
    lua_getfield(L, 1, "dry_run");
    lua_getfield(L, 1, "params");
    lua_getfield(L, 1, "after");
    if (!lua_isnil(L, 2) && !is_act) {
        return hs_verdict_fail(L, "%s{...}: field 'action' is only for act{...}%s", name, "");
    }
    if (!lua_isnil(L, 3) && !ambiguous) {
        return hs_verdict_fail(L, "%s{...}: field 'fallback' is only for ambiguous{...}%s", name, "");
    }
    if (!lua_isnil(L, 8)) {
        if (!is_recheck) return hs_verdict_fail(L, "%s{...}: field 'after' is only for recheck{...}%s", name, "");
        lua_Number after = lua_type(L, 8) == LUA_TNUMBER ? lua_tonumber(L, 8) : -1;
        if (!(after >= 1 && after <= 86400)) {
            return hs_verdict_fail(L, "%s{...}: after must be a number of seconds from 1 to 86400%s", name, "");
        }
    }
    if (lua_isnil(L, 4)) {
        lua_pushinteger(L, 1);
        lua_replace(L, 4);
    }
    if (lua_type(L, 4) != LUA_TNUMBER) {
        return hs_verdict_fail(L, "%s{...}: confidence must be a number from 0 to 1%s", name, "");
    }
    lua_Number confidence = lua_tonumber(L, 4);
    if (confidence != confidence || confidence < 0 || confidence > 1) {
        return hs_verdict_fail(L, "%s{...}: confidence must be a number from 0 to 1%s", name, "");
    }
    size_t reason_length = 0;
    if (lua_type(L, 5) != LUA_TSTRING || (lua_tolstring(L, 5, &reason_length), reason_length == 0)) {
        return hs_verdict_fail(L, "%s{...}: reason must be a non-empty string%s", name, "");
    }
    if (!lua_isnil(L, 6) && lua_type(L, 6) != LUA_TBOOLEAN) {
        return hs_verdict_fail(L, "%s{...}: dry_run must be true or false%s", name, "");
    }
    if (!lua_isnil(L, 7) && lua_type(L, 7) != LUA_TTABLE) {
        return hs_verdict_fail(L, "%s{...}: params must be a table%s", name, "");
    }
    if (ambiguous && !lua_isnil(L, 3)) {
        if (!hs_verdict_is(L, 3)) {
            return hs_verdict_fail(L, "%s%s", "",
                "ambiguous{...}: fallback must be a verdict such as restart{...} or false_alarm{...}");
        }
        lua_getfield(L, 3, "kind");
        int nested = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "ambiguous") == 0;
        lua_pop(L, 1);
        if (nested) return hs_verdict_fail(L, "%s%s", "", "ambiguous{...}: fallback cannot itself be ambiguous");
    }
    /* The action: fixed by the constructor, or act{action = ...}. */
    if (lua_isnil(L, lua_upvalueindex(4))) {
        if (lua_type(L, 2) == LUA_TSTRING) {
            lua_pushvalue(L, 2);
            lua_rawget(L, lua_upvalueindex(2));
        } else {
            lua_pushnil(L);
        }
        int known = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!known) {
            return hs_verdict_fail(L, "%s%s", "",
                "act{...}: action must be one of restart, start, stop, kill, pause, unpause, update_resources, exec, notify, none");
        }
        lua_pushvalue(L, 2);
    } else {
        lua_pushvalue(L, lua_upvalueindex(4));
    }
    int action = lua_gettop(L);

    lua_createtable(L, 0, 9);
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_setfield(L, -2, "kind");
    lua_pushvalue(L, action);
    lua_setfield(L, -2, "action");
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "confidence");
    lua_pushvalue(L, 5);
    lua_setfield(L, -2, "reason");
    lua_pushboolean(L, lua_toboolean(L, 6));
    lua_setfield(L, -2, "dry_run");
    if (!lua_isnil(L, 7)) {
        lua_pushvalue(L, 7);
        lua_setfield(L, -2, "params");
    }
    if (!lua_isnil(L, 3)) {
        lua_pushvalue(L, 3);
        lua_setfield(L, -2, "fallback");
    }
    if (!lua_isnil(L, 8)) {
        lua_pushvalue(L, 8);
        lua_setfield(L, -2, "after");
    }
    lua_pushinteger(L, line);
    lua_setfield(L, -2, "line");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_setmetatable(L, -2);
    return 1;
}

static int hs_lua_verdict_constructor(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checkstring(L, 3);
    luaL_checkstring(L, 5);
    lua_settop(L, 5);
    lua_pushcclosure(L, hs_lua_construct_verdict, 5);
    return 1;
}

static inline void hs_lua_push_verdict_constructor(lua_State *L) { lua_pushcfunction(L, hs_lua_verdict_constructor); }

#endif
