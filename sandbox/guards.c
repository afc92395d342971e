/*
** guards.c -- the standard C functions whose work grows with their
** arguments, charged to the call's budget before they run.
**
** Why (SANDBOX-NOTES 4).  A C function runs to its end without the count
** hook firing, so a plugin calling string.upper on a 4 MB string in a
** loop buys 4 MB of work per handful of instructions, and string.rep("",
** 1e18) loops for ages without allocating.  Each function here is
** replaced by a closure that first works out, from its arguments alone
** (no plugin code runs), how many bytes the original may scan, copy or
** produce, charges that to the budget (GUARD_BYTES_PER_INSTRUCTION bytes
** per instruction; budget_charge raises when the budget is spent, or the
** deadline passed), and then calls the original, kept as upvalue 1.
** What they produce is bounded by the memory limit in any case, so the
** work of one call is bounded in both CPU modes.
**
** Pattern matching lives in pattern.c and the table functions in
** tablib.c: their work is not known up front, so they charge as they go.
** The argument checks the cost needs are done here with Lua's own
** luaL_check* calls, so a bad argument gets Lua's message.
*/
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "sandbox/sandbox.h"

#define GUARD_BYTES_PER_INSTRUCTION 16

typedef long long (*cost_fn)(lua_State *L);

static long long len_at(lua_State *L, int i) {
  return lua_type(L, i) == LUA_TSTRING ? (long long)lua_rawlen(L, i) : 0;
}

/* Every string argument is scanned or copied once (lower, upper,
** reverse, sub, tonumber, utf8.len, utf8.offset, string.unpack, ...). */
static long long cost_strings(lua_State *L) {
  long long sum = 0;
  int i, n = lua_gettop(L);
  for (i = 1; i <= n; i++) sum += len_at(L, i);
  return sum;
}

/* Each byte of a format may expand to a conversion's worth of output
** (at most a few hundred bytes for '%99.99f' of a huge number); %q may
** quadruple a string. */
static long long cost_format(lua_State *L) {
  return len_at(L, 1) * 128 + 4 * (cost_strings(L) - len_at(L, 1));
}

/* string.pack: up to 16 bytes per format option, plus the strings. */
static long long cost_pack(lua_State *L) {
  return len_at(L, 1) * 16 + cost_strings(L);
}

/* os.date: strftime writes up to 250 bytes per two bytes of format. */
static long long cost_date(lua_State *L) { return len_at(L, 1) * 128; }

/* The number of bytes from i to j (Lua's relative positions) of a string
** of length len. */
static long long span(lua_Integer i, lua_Integer j, lua_Integer len) {
  if (i < 0) i = i < -len ? 1 : len + i + 1;
  else if (i == 0) i = 1;
  if (j > len) j = len;
  else if (j < 0) j = j < -len ? 0 : len + j + 1;
  return i > j ? 0 : (long long)(j - i + 1);
}

/* string.byte and utf8.codepoint push one value per byte (at most):
** charged as an instruction per value. */
static long long cost_slice(lua_State *L) {
  size_t len;
  lua_Integer i, j;
  luaL_checklstring(L, 1, &len);
  i = luaL_optinteger(L, 2, 1);
  j = luaL_optinteger(L, 3, i);
  return span(i, j, (lua_Integer)len) * GUARD_BYTES_PER_INSTRUCTION;
}

/* string.rep: the length of the result, computed without overflow; more
** than the memory limit fails at allocation before any copy. */
static long long cost_rep(lua_State *L) {
  size_t l, lsep;
  lua_Integer n;
  long long most = (long long)sandbox_of(L)->config.memory_limit;
  luaL_checklstring(L, 1, &l);
  n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0) return 0;
  if ((long long)(l + lsep) > most / n) return most;
  return n * (long long)(l + lsep);
}

typedef struct guard {
  const char *lib, *name;
  cost_fn cost;
} guard;

static const guard guards[] = {
  {LUA_STRLIBNAME, "byte", cost_slice},
  {LUA_STRLIBNAME, "format", cost_format},
  {LUA_STRLIBNAME, "lower", cost_strings},
  {LUA_STRLIBNAME, "upper", cost_strings},
  {LUA_STRLIBNAME, "reverse", cost_strings},
  {LUA_STRLIBNAME, "sub", cost_strings},
  {LUA_STRLIBNAME, "pack", cost_pack},
  {LUA_STRLIBNAME, "packsize", cost_strings},
  {LUA_STRLIBNAME, "unpack", cost_strings},
  {LUA_UTF8LIBNAME, "len", cost_strings},
  {LUA_UTF8LIBNAME, "offset", cost_strings},
  {LUA_UTF8LIBNAME, "codepoint", cost_slice},
  {LUA_OSLIBNAME, "date", cost_date},
  {LUA_GNAME, "tonumber", cost_strings},
};

static void charge_bytes(lua_State *L, long long bytes) {
  if (bytes >= GUARD_BYTES_PER_INSTRUCTION)
    budget_charge(L, bytes / GUARD_BYTES_PER_INSTRUCTION);
}

/* Calls the original (upvalue 1) with every argument, returns all. */
static int call_original(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

static int guarded(lua_State *L) {
  const guard *g = &guards[lua_tointeger(L, lua_upvalueindex(2))];
  charge_bytes(L, g->cost(L));
  return call_original(L);
}

/* string.rep: also answers the empty result itself, which Lua computes
** by looping n times over nothing (string.rep("", 1e18) never ends). */
static int guarded_rep(lua_State *L) {
  long long bytes = cost_rep(L);
  if (bytes == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  charge_bytes(L, bytes);
  return call_original(L);
}

/* The iterator utf8.codes returns skips continuation bytes from the
** control value, which the plugin may pass itself: charge that run. */
static int guarded_codes_step(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer at = luaL_optinteger(L, 2, 0);
  size_t i = at < 0 ? 0 : (size_t)at, run = 0;
  while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) {
    i++;
    run++;
  }
  charge_bytes(L, (long long)run);
  return call_original(L);
}

static int guarded_codes(lua_State *L) {
  int n = call_original(L);                    /* iterator, s, 0 */
  if (n >= 1 && lua_type(L, 1) == LUA_TFUNCTION) {
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, guarded_codes_step, 1);
    lua_replace(L, 1);
  }
  return n;
}

/* Replaces field `name` of the table on top by f with the original as
** upvalue 1 and `extra` as upvalue 2. */
static void wrap(lua_State *L, const char *name, lua_CFunction f, int extra) {
  lua_getfield(L, -1, name);
  lua_pushinteger(L, extra);
  lua_pushcclosure(L, f, 2);
  lua_setfield(L, -2, name);
}

void guards_open(lua_State *L, const char *lib) {
  size_t i;
  for (i = 0; i < sizeof guards / sizeof guards[0]; i++)
    if (strcmp(guards[i].lib, lib) == 0) wrap(L, guards[i].name, guarded, (int)i);
  if (strcmp(lib, LUA_STRLIBNAME) == 0) wrap(L, "rep", guarded_rep, 0);
  if (strcmp(lib, LUA_UTF8LIBNAME) == 0) wrap(L, "codes", guarded_codes, 0);
}
