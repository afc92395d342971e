/*
** guards.c -- the standard C functions whose work grows with their
** arguments, charged to the call's budget before they run.
**
** Why (SANDBOX-NOTES 4).  A C function runs to its end without the count
** hook firing, so a plugin calling string.upper on a 4 MB string in a
** loop buys 4 MB of work per handful of instructions, and string.rep("",
** 1e18) loops for ages without allocating.  Each function here is
** replaced by a guard that first works out, from its arguments alone
** (no plugin code runs), how many bytes the original may scan, copy or
** produce, charges that to the budget (GUARD_BYTES_PER_INSTRUCTION bytes
** per instruction; budget_charge raises when the budget is spent, or the
** deadline passed), and then calls the original (Lua's C function).
** What they produce is bounded by the memory limit in any case, so the
** work of one call is bounded in both CPU modes.
**
** Pattern matching lives in pattern.c and the table functions in
** tablib.c: their work is not known up front, so they charge as they go.
** The argument checks the cost needs are done here with Lua's own
** luaL_check* calls, so a bad argument gets Lua's message.
*/
#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "sandbox/sandbox.h"

#define GUARD_BYTES_PER_INSTRUCTION 16

typedef long long (*cost_fn)(lua_State *L);

/* The most bytes a call can make: the memory limit, kept well inside
** long long (a host may set SIZE_MAX for "no limit"). */
static long long most_bytes(lua_State *L) {
  size_t limit = sandbox_of(L)->config.memory_limit;
  return limit > (size_t)(LLONG_MAX / 4) ? LLONG_MAX / 4 : (long long)limit;
}

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
** quadruple a string.  The strings include what %s made of tables and
** userdata (convert_tostrings). */
static long long cost_format(lua_State *L) {
  return len_at(L, 1) * 128 + 4 * (cost_strings(L) - len_at(L, 1));
}

/* string.pack: up to 16 bytes per format option, the strings, and the
** sizes of its "c<n>" options: "c100000" pads its string to 100,000
** bytes, a byte at a time (the other options' sizes are at most 16, and
** Lua refuses larger ones before any work), none more than the memory
** limit. */
static long long cost_pack(lua_State *L) {
  long long most = most_bytes(L);
  long long sizes = 0;
  size_t len = 0, i;
  const char *fmt =
      lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : "";
  for (i = 0; i < len; i++) {
    long long n = 0;
    if (fmt[i] != 'c') continue;
    while (i + 1 < len && fmt[i + 1] >= '0' && fmt[i + 1] <= '9') {
      int digit = fmt[++i] - '0';
      n = n > (most - digit) / 10 ? most : n * 10 + digit;
    }
    sizes += n;
    if (sizes > most) sizes = most;
  }
  return (long long)len * 16 + cost_strings(L) + sizes;
}

/* os.clock and os.time: a system call (clock_gettime of the process's
** CPU time has no fast path in user space; mktime reads the time zone),
** about 1.4 us, the time of a hundred instructions or more: uncharged, a
** loop of os.clock() took 0.47 s for a budget of 1M instructions, 70
** times ordinary code (hostile cfn-clock-loop). */
#define SYSTEM_CALL_INSTRUCTIONS 100
static long long cost_system_call(lua_State *L) {
  (void)L;
  return SYSTEM_CALL_INSTRUCTIONS * GUARD_BYTES_PER_INSTRUCTION;
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
  long long most = most_bytes(L);
  luaL_checklstring(L, 1, &l);
  n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0) return 0;
  if ((long long)(l + lsep) > most / n) return most;
  return n * (long long)(l + lsep);
}

/* The functions charged up front by what they cost, each as X(library,
** name, cost); and the two with guards of their own further down. */
#define COSTED(X)                                                           \
  X(string, byte, cost_slice) X(string, sub, cost_strings)                 \
  X(string, pack, cost_pack) X(string, packsize, cost_strings)             \
  X(string, unpack, cost_strings) X(utf8, len, cost_strings)               \
  X(utf8, offset, cost_strings) X(utf8, codepoint, cost_slice)             \
  X(os, date, cost_date) X(os, clock, cost_system_call)                    \
  X(os, time, cost_system_call) X(_G, tonumber, cost_strings)              \
  VARIADIC(X) STRING_ARITH(X)
/* Any number of arguments, each compared (math.max, math.min: strings
** compare too) or converted to a number (a long blank-padded string is
** scanned) inside one call. */
#define VARIADIC(X)                                                         \
  X(math, max, cost_strings) X(math, min, cost_strings)                    \
  X(string, char, cost_strings) X(utf8, char, cost_strings)
/* The string metatable's arithmetic: "  ...  1" + 0 converts its string
** operands to numbers, a scan of each (blanks included) inside one VM
** instruction. */
#define STRING_ARITH(X)                                                     \
  X(strmeta, __add, cost_strings) X(strmeta, __sub, cost_strings)          \
  X(strmeta, __mul, cost_strings) X(strmeta, __div, cost_strings)          \
  X(strmeta, __mod, cost_strings) X(strmeta, __pow, cost_strings)          \
  X(strmeta, __idiv, cost_strings) X(strmeta, __unm, cost_strings)
/* Building their result in a string buffer of the size of their string
** argument (see sandbox_make_room). */
#define BUILT(X)                                                            \
  X(string, lower, cost_strings) X(string, upper, cost_strings)            \
  X(string, reverse, cost_strings)
#define OWN(X) X(string, rep, own) X(utf8, codes, own) X(string, format, own)

enum {  /* G_string_byte, ...: each guard's index */
#define INDEX(lib, name, cost) G_##lib##_##name,
  COSTED(INDEX) BUILT(INDEX) OWN(INDEX)
#undef INDEX
  GUARD_COUNT
};

/* The stock functions, found in the first state opened and kept for the
** process: they are C functions of liblua, the same in every state.  So
** each guard is a light C function of its own, and a new state neither
** looks the stock functions up nor makes a closure per guard (16 lookups
** and closures were 9 K of the 250 K instructions a new state costs).
** Atomic, as states may be opened on several threads at once; every
** writer stores the same value. */
static _Atomic(lua_CFunction) originals[GUARD_COUNT];

static void charge_bytes(lua_State *L, long long bytes) {
  if (bytes >= GUARD_BYTES_PER_INSTRUCTION)
    budget_charge(L, bytes / GUARD_BYTES_PER_INSTRUCTION);
}

/* Runs the stock function in the guard's own call, as a C call: it finds
** its arguments where the guard did and leaves its results on top.  An
** error it raises then reads as in stock Lua ("file:line: bad argument
** #1 to 'sub'", or 'string.format' when called from C): through a
** lua_call of its own it had no name ('?'), no position and, called as a
** method, an argument number one too high. */
static int call_original(lua_State *L, int g) {
  return atomic_load_explicit(&originals[g], memory_order_relaxed)(L);
}

static int guarded(lua_State *L, int g, cost_fn cost) {
  charge_bytes(L, cost(L));
  return call_original(L, g);
}

/* The buffer and then the result each hold the bytes charged: room for
** both, collecting garbage first if need be. */
static int built(lua_State *L, int g, cost_fn cost) {
  long long bytes = cost(L);
  charge_bytes(L, bytes);
  sandbox_make_room(L, 2 * (size_t)bytes);
  return call_original(L, g);
}

/* %s of a table or userdata copies (or, with a precision, scans) what its
** __tostring returns, which the arguments do not show: a cached 256 KB
** string copied per call for a few instructions.  So those arguments are
** converted here, with Lua's own luaL_tolstring, and cost_format charges
** the strings as it does any string argument.  Lua converts each when it
** reaches its conversion; here every %s is converted first, so a
** __tostring may run (or fail) before an earlier argument's error. */
static void convert_tostrings(lua_State *L) {
  size_t len, i;
  int arg = 1, top = lua_gettop(L);
  const char *fmt =
      lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : "";
  if (*fmt == '\0') return;
  for (i = 0; i < len; i++) {
    int t;
    if (fmt[i] != '%') continue;
    if (++i < len && fmt[i] == '%') continue;  /* "%%" */
    arg++;
    while (i < len && fmt[i] != '\0' && strchr("-+ #0123456789.", fmt[i]))
      i++;  /* flags, width, precision */
    if (i >= len || fmt[i] != 's' || arg > top) continue;
    t = lua_type(L, arg);
    if (t == LUA_TTABLE || t == LUA_TUSERDATA) {
      luaL_tolstring(L, arg, NULL);
      lua_replace(L, arg);
    }
  }
}

/* string.format: charged for its worst case (cost_format), but room is
** made for the likely result, its format and string arguments once with
** a few bytes per conversion (a worst case would collect for nothing at
** every call near the limit); %q of a string with many escapes may need
** more, and then gets no second try. */
static int guard_string_format(lua_State *L) {
  long long likely;
  convert_tostrings(L);
  likely = cost_strings(L) + 32 * (long long)lua_gettop(L);
  charge_bytes(L, cost_format(L));
  sandbox_make_room(L, 2 * (size_t)likely);
  return call_original(L, G_string_format);
}

/* string.rep: also answers the empty result itself, which Lua computes
** by looping n times over nothing (string.rep("", 1e18) never ends). */
static int guard_string_rep(lua_State *L) {
  long long bytes = cost_rep(L);
  if (bytes == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  charge_bytes(L, bytes);
  sandbox_make_room(L, 2 * (size_t)bytes);  /* as built() */
  return call_original(L, G_string_rep);
}

/* The iterator utf8.codes returns (upvalue 1) skips continuation bytes
** from the control value, which the plugin may pass itself: charge that
** run. */
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
  return lua_tocfunction(L, lua_upvalueindex(1))(L);  /* the stock step */
}

static int guard_utf8_codes(lua_State *L) {
  int n = call_original(L, G_utf8_codes);       /* iterator, s, 0 */
  if (n >= 1 && lua_tocfunction(L, -n) != NULL) {
    lua_pushvalue(L, -n);
    lua_pushcclosure(L, guarded_codes_step, 1);
    lua_replace(L, -n - 1);
  }
  return n;
}

/* guard_string_byte and the others: charge, then call the original. */
#define DEFINE(lib, name, cost)                                             \
  static int guard_##lib##_##name(lua_State *L) {                          \
    return guarded(L, G_##lib##_##name, cost);                             \
  }
COSTED(DEFINE)
#undef DEFINE
#define DEFINE(lib, name, cost)                                             \
  static int guard_##lib##_##name(lua_State *L) {                          \
    return built(L, G_##lib##_##name, cost);                               \
  }
BUILT(DEFINE)
#undef DEFINE

int guards_string_format(lua_State *L) {
  return guard_string_format(L);
}

static const struct {
  const char *lib, *name;
  lua_CFunction guard;
} guards[GUARD_COUNT] = {
#define ENTRY(lib, name, cost) {#lib, #name, guard_##lib##_##name},
  COSTED(ENTRY) BUILT(ENTRY) OWN(ENTRY)
#undef ENTRY
};

/* Replaces every guarded function of lib (the table on top; "_G" for the
** globals, "strmeta" for the strings' metatable), learning the stock ones
** from it the first time. */
void guards_open(lua_State *L, const char *lib) {
  int g;
  for (g = 0; g < GUARD_COUNT; g++) {
    /* The first letter settles most: a strcmp per guard and library was
    ** 3.9 K of a new state's 179 K instructions. */
    if (guards[g].lib[0] != lib[0] || strcmp(guards[g].lib, lib) != 0)
      continue;
    if (atomic_load_explicit(&originals[g], memory_order_relaxed) == NULL) {
      lua_CFunction f;
      lua_getfield(L, -1, guards[g].name);
      f = lua_tocfunction(L, -1);
      lua_pop(L, 1);
      if (f == NULL) continue;  /* not in this Lua: nothing to guard */
      atomic_store_explicit(&originals[g], f, memory_order_relaxed);
    }
    lua_pushcfunction(L, guards[g].guard);
    lua_setfield(L, -2, guards[g].name);
  }
}
