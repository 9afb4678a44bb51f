#ifndef HEMOSTAT_CLUA_SHIM_H
#define HEMOSTAT_CLUA_SHIM_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* ---------------------------------------------------------------------------------------
 * Macros of the Lua API, as functions Swift can call.
 * ------------------------------------------------------------------------------------- */

static inline void hs_lua_pop(lua_State *L, int n) { lua_settop(L, -(n) - 1); }
static inline void hs_lua_newtable(lua_State *L) { lua_createtable(L, 0, 0); }
static inline void hs_lua_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline int hs_lua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int hs_lua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int hs_lua_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
static inline const char *hs_lua_tolstring(lua_State *L, int idx, size_t *len) {
    return lua_tolstring(L, idx, len);
}
static inline lua_Number hs_lua_tonumber(lua_State *L, int idx, int *isnum) {
    return lua_tonumberx(L, idx, isnum);
}
static inline lua_Integer hs_lua_tointeger(lua_State *L, int idx, int *isnum) {
    return lua_tointegerx(L, idx, isnum);
}
static inline int hs_lua_isnil(lua_State *L, int idx) { return lua_type(L, idx) == LUA_TNIL; }
static inline int hs_lua_istable(lua_State *L, int idx) { return lua_type(L, idx) == LUA_TTABLE; }
static inline int hs_lua_isfunction(lua_State *L, int idx) { return lua_type(L, idx) == LUA_TFUNCTION; }
static inline void hs_lua_insert(lua_State *L, int idx) { lua_rotate(L, idx, 1); }
static inline void hs_lua_remove(lua_State *L, int idx) { lua_rotate(L, idx, -1); lua_settop(L, -2); }
static inline void hs_lua_gc_generational(lua_State *L) { lua_gc(L, LUA_GCGEN, 0, 0); }
static inline void hs_lua_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT); }
static inline int hs_lua_load_text(lua_State *L, const char *buf, size_t size, const char *chunkname) {
    return luaL_loadbufferx(L, buf, size, chunkname, "t");
}

/* ---------------------------------------------------------------------------------------
 * Limits: a memory-capped allocator and an instruction budget enforced by a count hook.
 *
 * The allocator's userdata is an `hs_lua_limits` owned by the Swift object that owns the
 * state; the hook and the message handler reach it through lua_getallocf.
 * ------------------------------------------------------------------------------------- */

typedef struct hs_lua_limits {
    size_t used;          /* bytes currently allocated by the state */
    size_t cap;           /* refuse growth past this many bytes; 0 = no cap */
    long long budget;     /* instructions left for the current call */
    int step;             /* hook granularity in instructions */
    int hit;              /* 0: none, 1: instruction limit, 2: memory limit */
    int err_line;         /* where the last error happened in a rule file (0: unknown) */
    char err_file[512];
    long long instructions; /* the armed instruction limit, for hs_lua_budget_reset */
    size_t memory;        /* the armed memory allowance, for hs_lua_budget_reset */
    lua_State *L;         /* the state these limits belong to */
    int slot;             /* watchdog slot (see below), or -1: count every instruction */
    volatile sig_atomic_t counting; /* the count hook is on for the running rule */
} hs_lua_limits;

enum { HS_LIMIT_NONE = 0, HS_LIMIT_INSTRUCTIONS = 1, HS_LIMIT_MEMORY = 2 };

static void *hs_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    hs_lua_limits *limits = (hs_lua_limits *)ud;
    if (ptr == NULL) osize = 0;
    if (nsize == 0) {
        free(ptr);
        limits->used -= osize;
        return NULL;
    }
    if (limits->cap != 0 && nsize > osize && limits->used + (nsize - osize) > limits->cap) {
        limits->hit = HS_LIMIT_MEMORY;
        return NULL;
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) return NULL;
    limits->used = limits->used - osize + nsize;
    return block;
}

static void hs_lua_count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    void *ud = NULL;
    lua_getallocf(L, &ud);
    hs_lua_limits *limits = (hs_lua_limits *)ud;
    limits->budget -= limits->step;
    if (limits->budget < 0) {
        limits->hit = HS_LIMIT_INSTRUCTIONS;
        /* Fire on every instruction from now on, so no code path outruns the limit. */
        lua_sethook(L, hs_lua_count_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "instruction limit exceeded");
    }
}

/* Message handler for lua_pcall: records the innermost frame that belongs to a rule file
 * (chunk names starting with '@'), leaves the error object as is. */
static int hs_lua_msgh(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    hs_lua_limits *limits = (hs_lua_limits *)ud;
    lua_Debug ar;
    int level = 1;
    /* The instruction limit fired: the error now unwinds to the protected call that runs the
     * rule (rules cannot catch errors), so the per-instruction hook is no longer needed; the
     * next rule is re-armed by hs_lua_budget_reset. */
    if (limits->hit == HS_LIMIT_INSTRUCTIONS) lua_sethook(L, NULL, 0, 0);
    limits->err_line = 0;
    limits->err_file[0] = '\0';
    while (lua_getstack(L, level++, &ar)) {
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.source != NULL && ar.source[0] == '@' && ar.currentline > 0) {
            strncpy(limits->err_file, ar.source + 1, sizeof(limits->err_file) - 1);
            limits->err_file[sizeof(limits->err_file) - 1] = '\0';
            limits->err_line = ar.currentline;
            break;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * The instruction limit, armed only for a rule that runs long.
 *
 * A count hook makes Lua 5.4 call into the debug machinery before every VM instruction,
 * which costs more than the rules themselves. So a state with a watchdog slot runs its rules
 * without the hook: a watchdog thread looks at every running evaluation each tick, and one
 * whose rule has not changed since the previous tick (it has run for between one and two
 * ticks) gets SIGURG. The handler runs on the evaluating thread, as lua.c's SIGINT handler
 * does, and turns the count hook on with the full instruction budget; from then on the rule
 * is stopped once it has used the budget. A rule is thus stopped after at most two ticks plus
 * `instructions` VM instructions. Memory is capped by the allocator as before, at every
 * allocation.
 *
 * When no slot is free, the handler cannot be installed or the thread cannot start, the
 * state counts every instruction from the start of each rule instead.
 *
 * The slots, the thread and the handler are process-wide (Sources/CLuaWatch).
 * ------------------------------------------------------------------------------------- */

/* The watchdog (Sources/CLuaWatch/watch.c): slots, the thread and the SIGURG handler. */
typedef void (*hs_watch_arm_fn)(void *context);
int hs_watch_register(void *context, hs_watch_arm_fn arm);
void hs_watch_unregister(int slot);
void hs_watch_begin(int slot);
void hs_watch_next(int slot);
void hs_watch_end(int slot);

/* Called by the SIGURG handler on the evaluating thread: the rule has run long, count from
 * now on with the full budget. */
static void hs_lua_watch_arm(void *context) {
    hs_lua_limits *limits = (hs_lua_limits *)context;
    if (limits->instructions > 0 && !limits->counting) {
        limits->counting = 1;
        limits->budget = limits->instructions;
        lua_sethook(limits->L, hs_lua_count_hook, LUA_MASKCOUNT, limits->step);
    }
}

static inline void hs_watch_unregister_limits(hs_lua_limits *limits) {
    if (limits->slot < 0) return;
    hs_watch_unregister(limits->slot);
    limits->slot = -1;
}

static inline lua_State *hs_lua_newstate(hs_lua_limits *limits) {
    memset(limits, 0, sizeof(*limits));
    limits->slot = -1;
    lua_State *L = lua_newstate(hs_lua_alloc, limits);
    if (L != NULL) {
        limits->L = L;
        limits->slot = hs_watch_register(limits, hs_lua_watch_arm);
    }
    return L;
}

/* Closes the state and gives its watchdog slot back. */
static inline void hs_lua_close(lua_State *L, hs_lua_limits *limits) {
    hs_watch_unregister_limits(limits);
    lua_close(L);
}

static inline void hs_lua_push_msgh(lua_State *L) { lua_pushcfunction(L, hs_lua_msgh); }

/* Turns the count hook on for the rule starting now (no slot), or leaves it off until the
 * watchdog asks for it. */
static inline void hs_lua_start_counting(lua_State *L, hs_lua_limits *limits) {
    if (limits->slot >= 0) {
        if (limits->counting) {
            lua_sethook(L, NULL, 0, 0);
            limits->counting = 0;
        }
        /* After the hook is off: a signal for the previous rule arms the next one early,
         * never leaves a rule unwatched. */
        hs_watch_next(limits->slot);
    } else {
        lua_sethook(L, hs_lua_count_hook, LUA_MASKCOUNT, limits->step);
    }
}

/* Arms the limits for one protected call: `instructions` VM instructions, and `memory`
 * bytes on top of what the state holds now (0 for either: no limit). */
static inline void hs_lua_limits_arm(lua_State *L, hs_lua_limits *limits, long long instructions, size_t memory) {
    limits->hit = HS_LIMIT_NONE;
    limits->err_line = 0;
    limits->err_file[0] = '\0';
    limits->cap = memory == 0 ? 0 : limits->used + memory;
    limits->instructions = instructions;
    limits->memory = memory;
    limits->counting = 0;
    lua_sethook(L, NULL, 0, 0);
    if (instructions <= 0) return;
    limits->budget = instructions;
    limits->step = instructions < 1000 ? (int)instructions : 1000;
    if (limits->slot >= 0) {
        hs_watch_begin(limits->slot);
    } else {
        lua_sethook(L, hs_lua_count_hook, LUA_MASKCOUNT, limits->step);
    }
}

static inline void hs_lua_limits_disarm(lua_State *L, hs_lua_limits *limits) {
    limits->cap = 0;
    if (limits->slot >= 0 && limits->instructions > 0) hs_watch_end(limits->slot);
    limits->instructions = 0;
    limits->counting = 0;
    lua_sethook(L, NULL, 0, 0);
}

static inline const char *hs_lua_limits_err_file(const hs_lua_limits *limits) { return limits->err_file; }

/* budget_reset(): re-arms the limits armed by hs_lua_limits_arm for the next rule of an
 * evaluation loop that runs inside Lua: a fresh instruction budget, a memory allowance on top
 * of what the state holds now, no recorded error. */
static int hs_lua_budget_reset(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    hs_lua_limits *limits = (hs_lua_limits *)ud;
    limits->hit = HS_LIMIT_NONE;
    limits->err_line = 0;
    limits->err_file[0] = '\0';
    limits->cap = limits->memory == 0 ? 0 : limits->used + limits->memory;
    if (limits->instructions > 0) {
        limits->budget = limits->instructions;
        hs_lua_start_counting(L, limits);
    }
    return 0;
}

/* take_error() -> hit (0 none, 1 instructions, 2 memory), file or nil, line: what the limits
 * and the message handler recorded about the last failure. */
static int hs_lua_take_error(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    hs_lua_limits *limits = (hs_lua_limits *)ud;
    /* After a refused allocation the loop itself must be able to allocate its bookkeeping. */
    if (limits->hit == HS_LIMIT_MEMORY) limits->cap = 0;
    lua_pushinteger(L, limits->hit);
    if (limits->err_line > 0) lua_pushstring(L, limits->err_file); else lua_pushnil(L);
    lua_pushinteger(L, limits->err_line);
    return 3;
}

static inline void hs_lua_push_budget_reset(lua_State *L) { lua_pushcfunction(L, hs_lua_budget_reset); }
static inline void hs_lua_push_take_error(lua_State *L) { lua_pushcfunction(L, hs_lua_take_error); }

/* Calls the function in upvalue 1 as f(line, ...), where line is the caller's current line
 * (the file is the rule's own: rule files cannot share functions). A C function keeps its
 * caller's frame even when called in tail position (`return restart{...}`), so the rule's
 * line is always known. */
static int hs_lua_call_with_caller(lua_State *L) {
    lua_Debug ar;
    int line = 0;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar)) line = ar.currentline;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushinteger(L, line);
    lua_rotate(L, 1, 2);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* with_caller(f) -> a function that calls f(line, ...). */
static int hs_lua_wrap_with_caller(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_pushcclosure(L, hs_lua_call_with_caller, 1);
    return 1;
}

/* function_line(f) -> the line where the Lua function f is defined. */
static int hs_lua_function_line(lua_State *L) {
    lua_Debug ar;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_getinfo(L, ">S", &ar);
    lua_pushinteger(L, ar.linedefined);
    return 1;
}

static inline void hs_lua_push_wrap_with_caller(lua_State *L) { lua_pushcfunction(L, hs_lua_wrap_with_caller); }
static inline void hs_lua_push_function_line(lua_State *L) { lua_pushcfunction(L, hs_lua_function_line); }

/* Opens only the libraries the sandbox builds on: base, string, table, math, utf8. Never
 * io, os, package, coroutine or debug. */
static inline void hs_lua_open_sandbox_libs(lua_State *L) {
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_settop(L, 0);
}

#include "json.h"
#include "verdict.h"
#include "seal.h"

#endif
