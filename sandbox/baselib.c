/*
** baselib.c -- the safe replacements of base functions.
**
**   print           goes to the owner's print sink, never to stdout, as
**                   one line: NUL bytes as \0, cut after 4 KB and said
**   load            text chunks only (bytecode can break the VM), charged
**                   by source size (a reader's pieces as they come)
**   setmetatable    refuses __gc (finalizers run with hooks off, even at
**                   lua_close) and __mode (weak tables: quadratic
**                   ephemeron collection, and a use-after-free in 5.4.4)
**   xpcall          calls the message handler after unwinding, so the
**                   handler never runs where hooks are off
**   collectgarbage  only "collect", "step", "count", "isrunning";
**                   collections are charged by heap size
** The originals are kept as upvalues.
*/
#include <string.h>

#include <lauxlib.h>

#include "sandbox/sandbox.h"

/* Compiling costs about one instruction per few bytes of source (a
** collection: SANDBOX_HEAP_BYTES_PER_INSTRUCTION). */
#define SOURCE_BYTES_PER_INSTRUCTION 4

/* What print pays for each value it makes text (tostring of a float
** takes some 100 ns, 30 instructions' time) and for the line it makes:
** building it reads and writes each byte. */
#define PRINT_VALUE_INSTRUCTIONS 32
#define LINE_BYTES_PER_INSTRUCTION 4

/* Reads s only as far as the line has room, and charges the bytes read:
** a search for the next NUL over all of s, once per NUL, uncharged, made
** lplug.log and print of a 100 KB string of NULs in a loop run into the
** 10 s backstop on a budget plain Lua spends in 33 ms. */
int baselib_addline(luaL_Buffer *b, const char *s, size_t len) {
  size_t room = SANDBOX_LINE_MAX - luaL_bufflen(b), i;
  /* at most two bytes each: a short text stays in b's own space */
  char *out = luaL_prepbuffsize(b, len < room / 2 ? 2 * len : room);
  char *at = out;
  for (i = 0; i < len; i++) {
    if (s[i] != '\0' && room >= 1) {
      *at++ = s[i];
      room--;
    } else if (s[i] == '\0' && room >= 2) {
      *at++ = '\\';
      *at++ = '0';
      room -= 2;
    } else {
      break;                                  /* no room left */
    }
  }
  luaL_addsize(b, (size_t)(at - out));
  budget_charge(b->L, (long long)(i / LINE_BYTES_PER_INSTRUCTION));
  if (i == len) return 1;
  luaL_addstring(b, "... (cut)");
  return 0;
}

/* The line is built as lplug.log's is (baselib_addline): values with a
** NUL byte or over 4 KB arrive whole or marked as cut, not silently
** shortened.  Each value's text first replaces the value in its slot,
** so that the buffer, above them, is on top whenever it grows (a buffer
** may not find a value of ours on top of its own: adding a value's text
** while it was there once freed a long line before copying it). */
static int sb_print(lua_State *L) {
  sandbox *sb = sandbox_of(L);
  int n = lua_gettop(L), i;
  luaL_Buffer b;
  /* each value made text (a float: some 100 ns; the line's bytes are
  ** charged as they are added): uncharged, print of 32 floats in a loop
  ** kept the host 48 times longer than the instruction budget allows */
  budget_charge(L, (long long)n * PRINT_VALUE_INSTRUCTIONS);
  for (i = 1; i <= n; i++) {
    luaL_tolstring(L, i, NULL);  /* may run __tostring */
    lua_replace(L, i);
  }
  luaL_buffinit(L, &b);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s = lua_tolstring(L, i, &len);
    if ((i > 1 && !baselib_addline(&b, "\t", 1)) ||
        !baselib_addline(&b, s, len))
      break;
  }
  luaL_pushresult(&b);
  if (sb->config.print) sb->config.print(sb->config.owner, lua_tostring(L, -1));
  return 0;
}

/* Runs the stock function (upvalue 1, a C function of liblua) on the
** arguments in place, in this call, as guards.c does: its errors
** then name the function and the caller's line as in stock Lua. */
static int call_stock(lua_State *L) {
  return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

/* A reader function's pieces are compiled inside lua_load, unseen by the
** count hook: each piece is charged as it is handed over (a raise here
** makes load return the error, and the hook raises again at once). */
static int charged_reader(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_call(L, 0, 1);
  if (lua_type(L, -1) == LUA_TSTRING)
    budget_charge(L, (long long)(lua_rawlen(L, -1) /
                                 SOURCE_BYTES_PER_INSTRUCTION));
  return 1;
}

static int sb_load(lua_State *L) {
  int n = lua_gettop(L);
  size_t len;
  if (lua_type(L, 1) == LUA_TSTRING) {
    lua_tolstring(L, 1, &len);
    budget_charge(L, (long long)(len / SOURCE_BYTES_PER_INSTRUCTION));
  } else if (lua_type(L, 1) == LUA_TFUNCTION) {
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, charged_reader, 1);
    lua_replace(L, 1);
  }
  if (n < 3) lua_settop(L, 3);       /* keep an env argument if given */
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  return call_stock(L);
}

static int sb_setmetatable(lua_State *L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "setmetatable: '__gc' is not allowed in plugins "
                        "(finalizers would run outside the budgets)");
    lua_pushliteral(L, "__mode");
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "setmetatable: '__mode' (weak tables) is not "
                        "allowed in plugins");
    lua_pop(L, 2);
  }
  return call_stock(L);
}

/* xpcall(f, msgh, ...): stack becomes [msgh, true, f, args...], then f
** runs in a pcall; on error msgh runs (protected) after the unwinding. */
static int xpcall_handled(lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;
  lua_pushboolean(L, 0);
  lua_replace(L, 2);          /* [msgh, false, err, handled-or-error] */
  lua_remove(L, 3);
  (void)status;
  return 2;
}

static int xpcall_done(lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;
  if (status == LUA_OK || status == LUA_YIELD)
    return lua_gettop(L) - 1;  /* true and the results */
  lua_pushvalue(L, 1);         /* [msgh, true, err, msgh] */
  lua_pushvalue(L, 3);
  status = lua_pcallk(L, 1, 1, 0, 0, xpcall_handled);
  return xpcall_handled(L, status, 0);
}

static int sb_xpcall(lua_State *L) {
  int n = lua_gettop(L), i, status;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_checkstack(L, n + 3, "too many arguments");
  lua_pushvalue(L, 2);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  for (i = 3; i <= n; i++) lua_pushvalue(L, i);
  lua_rotate(L, 1, -n);
  lua_pop(L, n);
  status = lua_pcallk(L, n - 2, LUA_MULTRET, 0, 0, xpcall_done);
  return xpcall_done(L, status, 0);
}

static int sb_collectgarbage(lua_State *L) {
  static const char *const opts[] = {"collect", "step", "count", "isrunning",
                                     NULL};
  sandbox *sb = sandbox_of(L);
  const char *opt = luaL_optstring(L, 1, "collect");
  int o, results;
  for (o = 0; opts[o] && strcmp(opts[o], opt) != 0; o++) {}
  if (opts[o] == NULL)
    return luaL_error(L, "collectgarbage: option '%s' is not allowed in "
                      "plugins (allowed: collect, step, count, isrunning)", opt);
  if (o <= 1) budget_charge(L, SANDBOX_COLLECTION_COST(sb));
  lua_settop(L, 1);
  lua_pushstring(L, opts[o]);
  lua_replace(L, 1);
  results = call_stock(L);
  if (o == 0) sandbox_fit_collector(L, sb->used);  /* the heap is live now */
  return results;
}

/* Replaces field `name` of the global table (on top) by f with the
** original, a C function of liblua in every Lua 5.4, as its upvalue. */
static void wrap_global(lua_State *L, const char *name, lua_CFunction f) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, name);
}

void baselib_open(lua_State *L) {
  static const char *const removed[] = {"dofile", "loadfile", "warn", NULL};
  static const luaL_Reg ours[] = {
    {"print", sb_print}, {"xpcall", sb_xpcall}, {NULL, NULL}
  };
  int i;
  for (i = 0; removed[i]; i++) {
    lua_pushnil(L);
    lua_setfield(L, -2, removed[i]);
  }
  luaL_setfuncs(L, ours, 0);
  wrap_global(L, "load", sb_load);
  wrap_global(L, "setmetatable", sb_setmetatable);
  wrap_global(L, "collectgarbage", sb_collectgarbage);
}
