#ifndef HEMOSTAT_CLUA_SEAL_H
#define HEMOSTAT_CLUA_SEAL_H

/* ---------------------------------------------------------------------------------------
 * Read-only views of the alert a rule receives, in C.
 *
 * seal(t) -> a view of t: an empty table whose metatable (one for every view) reads through
 * to t, refuses every assignment ("the alert is read-only"), and gives `#` and `pairs` of t.
 * A member of t that is a table is handed out as its own view, made on first access and kept,
 * so no writable table is reachable from a view. Nothing is copied: a view costs one table
 * until one of its table members is read. Errors carry no position: the rule's file and line
 * are found by the message handler.
 *
 * A view keeps its table, and its views of members, under two keys that are tables of their
 * own (a rule cannot name them). The functions below are C closures sharing the upvalues
 * (1) the key of the table, (2) the key of the member views, (3) the metatable; the keys are
 * also in the registry for hs_lua_unseal. (A header imported by Swift is compiled into each
 * file that uses it, so it can hold no address or data that all of them share.)
 * ------------------------------------------------------------------------------------- */

#define HS_SEAL_REGISTRY_REAL "hemostat.seal.real"

/* Pushes the table the view at `index` shows and returns 1, or pushes nil and returns 0. */
static int hs_seal_push_real_with(lua_State *L, int index, int key) {
    if (lua_type(L, index) != LUA_TTABLE) {
        lua_pushnil(L);
        return 0;
    }
    lua_pushvalue(L, key);
    return lua_rawget(L, index) == LUA_TTABLE;
}

/* Pushes a new view of the table at `real`; the upvalues are this closure's. */
static void hs_seal_push_view(lua_State *L, int real) {
    luaL_checkstack(L, 6, "sealing the alert");
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, real);
    lua_rawset(L, -3);
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_setmetatable(L, -2);
}

/* The value on top, read from the table of the view at `view` under the key at `key`,
 * becomes its view when it is a table that is not a view already (the same view every
 * time). */
static void hs_seal_wrap_top(lua_State *L, int view, int key) {
    if (lua_type(L, -1) != LUA_TTABLE) return;
    int value = lua_gettop(L);
    luaL_checkstack(L, 8, "sealing the alert");
    lua_pushvalue(L, lua_upvalueindex(1));
    if (lua_rawget(L, value) != LUA_TNIL) {
        lua_settop(L, value);
        return;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(2));
    if (lua_rawget(L, view) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 2);
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_pushvalue(L, -2);
        lua_rawset(L, view);
    }
    int cache = lua_gettop(L);
    lua_pushvalue(L, key);
    if (lua_rawget(L, cache) != LUA_TTABLE) {
        lua_pop(L, 1);
        hs_seal_push_view(L, value);
        lua_pushvalue(L, key);
        lua_pushvalue(L, -2);
        lua_rawset(L, cache);
    }
    lua_replace(L, value);
    lua_settop(L, value);
}

static int hs_seal_index(lua_State *L) {
    if (!hs_seal_push_real_with(L, 1, lua_upvalueindex(1))) return 0;
    lua_pushvalue(L, 2);
    lua_gettable(L, -2);  /* honours the table's own metatable (a.history) */
    hs_seal_wrap_top(L, 1, 2);
    return 1;
}

static int hs_seal_newindex(lua_State *L) {
    const char *key = luaL_tolstring(L, 2, NULL);
    lua_pushfstring(L, "the alert is read-only (assignment to '%s')", key);
    return lua_error(L);
}

static int hs_seal_len(lua_State *L) {
    hs_seal_push_real_with(L, 1, lua_upvalueindex(1));
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

static int hs_seal_next(lua_State *L) {
    lua_settop(L, 2);
    hs_seal_push_real_with(L, 1, lua_upvalueindex(1));  /* 3 */
    lua_pushvalue(L, 2);
    if (lua_type(L, 3) != LUA_TTABLE || !lua_next(L, 3)) {
        lua_pushnil(L);
        return 1;
    }
    hs_seal_wrap_top(L, 1, 4);  /* 4 key, 5 value */
    return 2;
}

static int hs_seal_pairs(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(4));
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int hs_lua_seal(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    if (lua_rawget(L, 1) != LUA_TNIL) {  /* already a view */
        lua_settop(L, 1);
        return 1;
    }
    lua_settop(L, 1);
    hs_seal_push_view(L, 1);
    return 1;
}

/* Pushes the three upvalues of the seal closures: fresh keys and the metatable. */
static void hs_seal_push_upvalues(lua_State *L, int real, int cache, int mt) {
    lua_pushvalue(L, real);
    lua_pushvalue(L, cache);
    lua_pushvalue(L, mt);
}

/* Pushes seal(t) for a new Lua state, making its keys and metatable. */
static inline void hs_lua_push_seal(lua_State *L) {
    lua_createtable(L, 0, 0);
    int real = lua_gettop(L);
    lua_createtable(L, 0, 0);
    int cache = lua_gettop(L);
    lua_createtable(L, 0, 5);
    int mt = lua_gettop(L);
    lua_pushvalue(L, real);
    lua_setfield(L, LUA_REGISTRYINDEX, HS_SEAL_REGISTRY_REAL);

    hs_seal_push_upvalues(L, real, cache, mt);
    lua_pushcclosure(L, hs_seal_index, 3);
    lua_setfield(L, mt, "__index");
    lua_pushcfunction(L, hs_seal_newindex);
    lua_setfield(L, mt, "__newindex");
    hs_seal_push_upvalues(L, real, cache, mt);
    lua_pushcclosure(L, hs_seal_len, 3);
    lua_setfield(L, mt, "__len");
    hs_seal_push_upvalues(L, real, cache, mt);
    lua_pushcclosure(L, hs_seal_next, 3);
    int next = lua_gettop(L);
    hs_seal_push_upvalues(L, real, cache, mt);
    lua_pushvalue(L, next);
    lua_pushcclosure(L, hs_seal_pairs, 4);
    lua_setfield(L, mt, "__pairs");
    lua_pop(L, 1);  /* next */
    lua_pushboolean(L, 0);
    lua_setfield(L, mt, "__metatable");

    hs_seal_push_upvalues(L, real, cache, mt);
    lua_pushcclosure(L, hs_lua_seal, 3);
    lua_replace(L, real);
    lua_settop(L, real);
}

/* For the conversion to Swift: replaces the view at `index` by the table it shows; returns
 * whether it was a view. */
static inline int hs_lua_unseal(lua_State *L, int index) {
    index = lua_absindex(L, index);
    if (lua_type(L, index) != LUA_TTABLE) return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, HS_SEAL_REGISTRY_REAL);
    if (lua_isnil(L, -1) || lua_rawget(L, index) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    lua_replace(L, index);
    return 1;
}

#endif
