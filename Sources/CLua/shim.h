#ifndef HEMOSTAT_CLUA_SHIM_H
#define HEMOSTAT_CLUA_SHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/// `lua_pop` is a macro.
static inline void hs_lua_pop(lua_State *L, int n) {
    lua_settop(L, -(n) - 1);
}

#endif
