/*
** corolib.c -- the coroutine library plugins get.
**
** create, resume, wrap and close are ours; status, running, yield and
** isyieldable are Lua's.  Why (SANDBOX-NOTES 2, 3, 12):
**  - every coroutine runs under the call's budget: budget_enter arms its
**    count hook (charging a block) before each resume, and makes it the
**    running thread (the one a late deadline arms) until budget_leave;
**  - once the budget is spent nothing resumes, and the resumer is armed
**    to stop on its next instruction;
**  - a coroutine killed by a limit error has hooks off for good, so it is
**    marked and never resumed or closed (closing would run its __close
**    handlers with no hook at all); Lua's own wrap would close it;
**  - closing is refused when the call's C stack is already deep (below),
**    and coroutine.close nesting is bounded.
**
** The C stack.  Lua 5.4.4's lua_resetthread runs a coroutine's __close
** handlers with the coroutine's own count of C calls, not the closer's:
** a coroutine resumed near the top of the stack and closed deep down
** hands its handlers a fresh allowance of ~200 C levels (LUAI_MAXCCALLS)
** on top of the closer's.  Nested closes stacked those allowances: 8
** handlers each 190 gsub callbacks deep crashed a 3 MB stack.  So a
** close is refused ("C stack overflow", an ordinary error, as Lua's own)
** once the C stack the call uses passes CLOSE_STACK_LIMIT, and a call
** uses at most that plus one allowance.
*/
#include <lauxlib.h>
#include <lualib.h>

#include "sandbox/sandbox.h"

#define MAX_CLOSE_DEPTH 8

/* The C stack a call may use when it starts a close.  The deepest C level
** measured (gcc -O2, x86-64) is a gsub callback, 2.1 KB (string.format's
** __tostring 1.6 KB, pcall 0.8 KB, table.sort's comparator 0.5 KB), so
** the one allowance a close grants is at most 200 x 2.1 = 422 KB, plus
** 30 KB of pattern matching at its deepest: with this, 840 KB in all,
** inside the 1 MB docs/security.md asks hosts for. */
#define CLOSE_STACK_LIMIT (384 * 1024)

static const char *const KILLED = "lplug.killed";  /* weak set of threads */

static lua_State *getco(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "thread");  /* as Lua 5.4.4 says it */
  return co;
}

/* Whether the thread at index idx was killed by a limit. */
static int killed(lua_State *L, int idx) {
  int k;
  idx = lua_absindex(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, KILLED);
  lua_pushvalue(L, idx);
  k = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  return k;
}

static void mark_killed(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, KILLED);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* Why nothing may be closed from here, or NULL: closes nested too deeply,
** or too much C stack in use already. */
static const char *close_refused(const sandbox *sb) {
  char here;
  uintptr_t at = (uintptr_t)&here, base = sb->stack_base;
  uintptr_t used = base > at ? base - at : at - base;  /* either growth */
  if (sb->close_depth >= MAX_CLOSE_DEPTH)
    return "coroutine.close nested too deeply";
  if (used > CLOSE_STACK_LIMIT)
    return "C stack overflow (too deep to close a coroutine)";
  return NULL;
}

/* Runs co's pending __close handlers on co, under the budget; returns
** lua_resetthread's status.  The caller checked close_refused. */
static int reset(sandbox *sb, lua_State *co) {
  lua_State *closer;
  int status;
  sb->close_depth++;
  closer = budget_enter(sb, co);  /* its __close handlers run on co */
  status = lua_resetthread(co);
  budget_leave(sb, closer);
  sb->close_depth--;
  return status;
}

/* Resumes co (also at index coidx) with narg arguments from L's top.
** Returns the number of results moved to L, or -1 with an error object on
** L's top.  Follows lcorolib.c's auxresume, plus the budget. */
static int auxresume(lua_State *L, lua_State *co, int coidx, int narg) {
  sandbox *sb = sandbox_of(L);
  lua_State *resumer;
  int status, nres;
  if (sb->stop) budget_raise(L);
  if (killed(L, coidx)) {
    lua_pushliteral(L, "cannot resume a coroutine stopped by a limit");
    return -1;
  }
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) {
    lua_pushliteral(L, "cannot resume dead coroutine");
    return -1;
  }
  lua_xmove(L, co, narg);
  resumer = budget_enter(sb, co);
  status = lua_resume(co, L, narg, &nres);
  budget_leave(sb, resumer);
  if (sb->stop) {
    if (status != LUA_OK && status != LUA_YIELD) mark_killed(L, coidx);
    budget_stop(sb, L, sb->stop);  /* the resumer stops next */
  }
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1);  /* error object */
  return -1;
}

static int co_resume(lua_State *L) {
  lua_State *co = getco(L);
  int r = auxresume(L, co, 1, lua_gettop(L) - 1);
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

static int co_create(lua_State *L) {
  lua_State *co;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  return 1;
}

static int auxwrap(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int r = auxresume(L, co, lua_upvalueindex(1), lua_gettop(L));
  if (r < 0) {
    int status = lua_status(co);
    /* Close a coroutine that died of an ordinary error, as Lua's wrap
    ** does, but never one killed by a limit: its hooks are off. */
    sandbox *sb = sandbox_of(L);
    if (status != LUA_OK && status != LUA_YIELD &&
        !killed(L, lua_upvalueindex(1))) {
      const char *refused = close_refused(sb);
      /* Not closed, its handlers not run: say so rather than its error. */
      if (refused != NULL) return luaL_error(L, "%s", refused);
      status = reset(sb, co);
      /* resetthread leaves the error (a __close handler's, if one
      ** failed) on co: raise that one, and leave co empty, so that it is
      ** dead.  Left there, co looked like a coroutine not yet started,
      ** and calling the wrapper again called the error object. */
      lua_pop(L, 1);
      lua_xmove(co, L, 1);
    }
    if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
      /* add the position, as Lua does */
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  return r;
}

static int co_wrap(lua_State *L) {
  co_create(L);
  lua_pushcclosure(L, auxwrap, 1);
  return 1;
}

/* Closable: dead, or suspended (never started, or yielded); otherwise
** running or normal (it resumed another), as stock Lua words it. */
static const char *not_closable(lua_State *L, lua_State *co) {
  lua_Debug ar;
  if (co == L) return "running";
  if (lua_status(co) == LUA_OK && lua_getstack(co, 0, &ar)) return "normal";
  return NULL;
}

static int co_close(lua_State *L) {
  lua_State *co = getco(L);
  sandbox *sb = sandbox_of(L);
  const char *what;
  int status;
  if (sb->stop) budget_raise(L);
  if (killed(L, 1))
    return luaL_error(L, "cannot close a coroutine stopped by a limit");
  if ((what = not_closable(L, co)) != NULL)
    return luaL_error(L, "cannot close a %s coroutine", what);
  if ((what = close_refused(sb)) != NULL) return luaL_error(L, "%s", what);
  status = reset(sb, co);
  if (status == LUA_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);
  return 2;
}

void corolib_open(lua_State *L) {
  static const luaL_Reg ours[] = {
    {"create", co_create}, {"resume", co_resume}, {"wrap", co_wrap},
    {"close", co_close}, {NULL, NULL}
  };
  luaL_setfuncs(L, ours, 0);
  lua_newtable(L);  /* the set of killed threads, weak keys */
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, KILLED);
}
