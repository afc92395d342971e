/*
** tablib.c -- table.concat, insert, remove, move, unpack and sort as
** plugins get them: the same contracts as Lua 5.4's, with their loops
** paying as they go.
**
** Why (SANDBOX-NOTES 4).  Lua's versions loop in C over a count the
** plugin chooses, and never return to the VM: table.move({}, 1, 1e15, 2)
** moves nils for hours without allocating a byte; a __len answering 1e15
** makes table.insert(t, 1, x) shift as long; table.sort of an array whose
** __index is a C function compares without running one VM instruction.
** Here every loop charges its elements to the call's budget in blocks of
** TAB_BATCH (budget_charge, which also stops a late call in deadline
** mode), and what is left of the last block when the function returns;
** comparisons of strings are charged by their length.  Lua
** code that metamethods or a sort comparator run is counted by the hook
** as usual.
**
** table.sort is a heapsort: O(n log n) comparisons whatever the order
** function does, no recursion, every index it touches within 1..n (an
** inconsistent comparator yields some permutation, never an error).
** table.pack is Lua's: its work is its arguments, already paid for.
*/
#include <limits.h>

#include <lauxlib.h>
#include <lualib.h>

#include "sandbox/sandbox.h"

#define TAB_BATCH 256            /* elements between two charges */
#define BYTES_PER_INSTRUCTION 16 /* string bytes copied or compared */

/* Elements done since the last charge; charges a full batch. */
typedef struct meter {
  lua_State *L;
  long long pending;
} meter;

static void pay(meter *m, long long n) {
  m->pending += n;
  if (m->pending >= TAB_BATCH) {
    budget_charge(m->L, m->pending);
    m->pending = 0;
  }
}

/* Charges what the last batch left, as the function returns its n
** results: a loop in Lua calling one with fewer than TAB_BATCH elements
** would otherwise never pay for them. */
static int settled(meter *m, int n) {
  if (m->pending > 0) budget_charge(m->L, m->pending);
  m->pending = 0;
  return n;
}

/* Lua 5.4's rule: a table, or a value whose metatable has what is used. */
#define TAB_R 1   /* __index */
#define TAB_W 2   /* __newindex */
#define TAB_L 4   /* __len */

static int has_field(lua_State *L, const char *key) {
  int r;
  lua_pushstring(L, key);
  r = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 1);
  return r;
}

static void checktab(lua_State *L, int arg, int what) {
  if (lua_type(L, arg) == LUA_TTABLE) return;
  if (lua_getmetatable(L, arg)) {
    int ok = (!(what & TAB_R) || has_field(L, "__index")) &&
             (!(what & TAB_W) || has_field(L, "__newindex")) &&
             (!(what & TAB_L) || has_field(L, "__len"));
    lua_pop(L, 1);
    if (ok) return;
  }
  luaL_checktype(L, arg, LUA_TTABLE);
}

static lua_Integer checklen(lua_State *L, int arg, int what) {
  checktab(L, arg, what | TAB_L);
  return luaL_len(L, arg);
}

static int tab_concat(lua_State *L) {
  luaL_Buffer b;
  meter m = {L, 0};
  lua_Integer last = checklen(L, 1, TAB_R), i;
  size_t lsep;
  const char *sep = luaL_optlstring(L, 2, "", &lsep);
  i = luaL_optinteger(L, 3, 1);
  last = luaL_optinteger(L, 4, last);
  luaL_buffinit(L, &b);
  for (; i <= last; i++) {
    size_t len;
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
      return luaL_error(L, "invalid value (%s) at index %I in table for "
                        "'concat'", luaL_typename(L, -1), (LUAI_UACINT)i);
    lua_tolstring(L, -1, &len);
    pay(&m, 1 + (long long)((len + lsep) / BYTES_PER_INSTRUCTION));
    SANDBOX_BUFFER_ROOM(&b, len);
    luaL_addvalue(&b);
    if (i != last) {
      SANDBOX_BUFFER_ROOM(&b, lsep);
      luaL_addlstring(&b, sep, lsep);
    }
    if (i == LUA_MAXINTEGER) break;
  }
  luaL_pushresult(&b);
  return settled(&m, 1);
}

static int tab_insert(lua_State *L) {
  meter m = {L, 0};
  lua_Integer pos, e = checklen(L, 1, TAB_R | TAB_W);
  e = (lua_Integer)((lua_Unsigned)e + 1);  /* first empty element */
  switch (lua_gettop(L)) {
    case 2:
      pos = e;
      break;
    case 3:
      pos = luaL_checkinteger(L, 2);
      luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2,
                    "position out of bounds");
      for (; e > pos; e--) {  /* t[e] = t[e - 1], from the top */
        lua_geti(L, 1, e - 1);
        lua_seti(L, 1, e);
        pay(&m, 1);
      }
      break;
    default:
      return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_seti(L, 1, pos);
  return settled(&m, 0);
}

static int tab_remove(lua_State *L) {
  meter m = {L, 0};
  lua_Integer size = checklen(L, 1, TAB_R | TAB_W);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  /* Given: within 1..size + 1.  Lua 5.4.4 reports it as argument 1. */
  if (pos != size)
    luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1,
                  "position out of bounds");
  lua_geti(L, 1, pos);                                  /* the result */
  for (; pos < size; pos++) {
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);
    pay(&m, 1);
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);
  return settled(&m, 1);
}

static int tab_move(lua_State *L) {
  meter m = {L, 0};
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;  /* destination table */
  checktab(L, 1, TAB_R);
  checktab(L, tt, TAB_W);
  if (e >= f) {
    lua_Integer n, i;
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3,
                  "too many elements to move");
    n = e - f + 1;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4,
                  "destination wrap around");
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (i = 0; i < n; i++) {
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
        pay(&m, 1);
      }
    } else {
      for (i = n - 1; i >= 0; i--) {
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
        pay(&m, 1);
      }
    }
  }
  lua_pushvalue(L, tt);
  return settled(&m, 1);
}

static int tab_unpack(lua_State *L) {
  lua_Integer i = luaL_optinteger(L, 2, 1);
  lua_Integer e = lua_isnoneornil(L, 3) ? luaL_len(L, 1)
                                        : luaL_checkinteger(L, 3);
  lua_Unsigned n;
  if (i > e) return 0;
  n = (lua_Unsigned)e - (lua_Unsigned)i;
  if (n >= (unsigned)INT_MAX || !lua_checkstack(L, (int)(++n)))
    return luaL_error(L, "too many results to unpack");
  budget_charge(L, (long long)n);  /* one push each, before pushing */
  for (; i < e; i++) lua_geti(L, 1, i);
  lua_geti(L, 1, e);
  return (int)n;
}

/* Whether the value at a sorts before the one at b (stack indexes). */
static int before(lua_State *L, meter *m, int a, int b) {
  int r;
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  if (lua_isnil(L, 2)) {
    if (lua_type(L, a) == LUA_TSTRING && lua_type(L, b) == LUA_TSTRING) {
      size_t la = lua_rawlen(L, a), lb = lua_rawlen(L, b);
      pay(m, (long long)((la < lb ? la : lb) / BYTES_PER_INSTRUCTION));
    }
    pay(m, 1);
    return lua_compare(L, a, b, LUA_OPLT);
  }
  pay(m, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, a);
  lua_pushvalue(L, b);
  lua_call(L, 2, 1);
  r = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return r;
}

/* Lets t[i] sink in the heap t[1..n] until both children sort before
** it (a max-heap under `before`). */
static void sink(lua_State *L, meter *m, lua_Integer i, lua_Integer n) {
  while (i <= n / 2) {
    lua_Integer c = 2 * i;
    lua_geti(L, 1, c);                                  /* child */
    if (c < n) {
      lua_geti(L, 1, c + 1);                            /* child, right */
      if (before(L, m, -2, -1)) {
        lua_remove(L, -2);
        c++;
      } else {
        lua_pop(L, 1);
      }
    }
    lua_geti(L, 1, i);                                  /* child, t[i] */
    if (!before(L, m, -1, -2)) {
      lua_pop(L, 2);
      return;
    }
    lua_seti(L, 1, c);                                  /* child */
    lua_seti(L, 1, i);
    i = c;
  }
}

static int tab_sort(lua_State *L) {
  meter m = {L, 0};
  lua_Integer n = checklen(L, 1, TAB_R | TAB_W), i;
  if (n <= 1) return 0;  /* nothing to order: the rest is not checked */
  luaL_argcheck(L, n < INT_MAX, 1, "array too big");
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  for (i = n / 2; i >= 1; i--) sink(L, &m, i, n);
  for (i = n; i > 1; i--) {
    lua_geti(L, 1, 1);                                  /* largest */
    lua_geti(L, 1, i);
    lua_seti(L, 1, 1);
    lua_seti(L, 1, i);
    sink(L, &m, 1, i - 1);
  }
  return settled(&m, 0);
}

void tablib_open(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"concat", tab_concat}, {"insert", tab_insert}, {"remove", tab_remove},
    {"move", tab_move}, {"unpack", tab_unpack}, {"sort", tab_sort},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
