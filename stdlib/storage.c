/*
** storage.c -- the lplug.storage module: the plugin's own key-value store.
**
**   local storage = require "lplug.storage"
**   storage.set("seen", 10)            -- true; nil, why if over quota
**   storage.get("seen")                --> 10 (a fresh copy), or nil
**   storage.delete("seen")
**   storage.incr("hits", 1)            --> the new integer (absent is 0)
**   local keys, cursor = storage.keys{ prefix = "user:", after = nil,
**                                      limit = 100 }
**
** A plugin sees only its own entries.  What a call writes is kept only if
** the call returns normally (engine/storage.h).  set, delete and incr
** return true (incr: the new integer), or nil and a message when the
** quota is full -- an expected condition; keys of the wrong kind or size
** and database failures raise.  Each operation
** is charged to the instruction budget by its size.  Needs capability
** `storage`.
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/internal.h"
#include "engine/storage.h"
#include "engine/value.h"
#include "engine/value_lua.h"
#include "sandbox/sandbox.h"

/* An operation costs about as much as this many VM instructions, plus one
** per PLUGIN_BYTES_PER_INSTRUCTION bytes it moves. */
#define OP_INSTRUCTIONS 200

static storage *store(lua_State *L, plugin *p) {
  storage *s = plugin_storage(p);
  if (s == NULL)  /* the engine opens it when loading a plugin with it */
    luaL_error(L, "storage: not available to plugin '%s'", plugin_name(p));
  return s;
}

static const char *check_key(lua_State *L, int arg, size_t *len) {
  const char *key;
  luaL_checktype(L, arg, LUA_TSTRING);  /* a number is not a key */
  key = lua_tolstring(L, arg, len);
  luaL_argcheck(L, *len > 0 && *len <= STORAGE_MAX_KEY, arg,
                "key must be 1 to 1024 bytes");
  return key;
}

/* A full quota is expected (nil and why); anything else raises. */
static int fail_op(lua_State *L, const char *op, int rc, const char *err) {
  if (rc == LPLUG_EFULL) {
    luaL_pushfail(L);
    lua_pushfstring(L, "storage.%s: %s", op, err);
    return 2;
  }
  return luaL_error(L, "storage.%s: %s", op,
                    rc == LPLUG_ENOMEM ? "out of memory" : err);
}

static int storage_get_lua(lua_State *L) {
  plugin *p = plugin_of(L);
  storage *s = store(L, p);
  lplug_value *v = plugin_scratch(p);
  size_t klen, len;
  const char *key = check_key(L, 1, &klen);
  char err[512];
  int found, rc;
  budget_charge(L, OP_INSTRUCTIONS);
  rc = storage_get(s, p, key, klen, v, &found, err, sizeof err);
  if (rc != LPLUG_OK) {
    value_set_nil(v);
    return fail_op(L, "get", rc, err);
  }
  if (!found) {
    lua_pushnil(L);
    return 1;
  }
  /* charged after the copy (one value, within the memory limit) */
  len = value_push_lua(L, v, 0);
  value_set_nil(v);
  budget_charge(L, (long long)(len / PLUGIN_BYTES_PER_INSTRUCTION));
  return 1;
}

/* A write near the quota after a deletion recounts the plugin's usage,
** reading every entry of it: charged after the write, per entry read. */
#define SCANNED_ROW_INSTRUCTIONS 8

/* A key storage.keys gives: the row read, and the string made as a value
** is (VALUE_ITEM_WORK). */
#define KEY_INSTRUCTIONS \
  (SCANNED_ROW_INSTRUCTIONS + VALUE_ITEM_WORK / PLUGIN_BYTES_PER_INSTRUCTION)

static void charge_scanned(lua_State *L, plugin *p) {
  /* rows are the plugin's entries: few enough under its quota */
  unsigned long long rows = storage_take_scanned(p);
  if (rows > 0) budget_charge(L, (long long)rows * SCANNED_ROW_INSTRUCTIONS);
}

/* set(key, value) and delete(key): the value at index 2, of Lua type
** `type` (LUA_TNIL deletes). */
static int write_lua(lua_State *L, const char *op, int type) {
  plugin *p = plugin_of(L);
  storage *s = store(L, p);
  lplug_value *v = NULL;  /* the plugin's scratch, when it holds the value */
  unsigned char number[VALUE_INTEGER_MAX];
  size_t klen, len = 0, work = 0;
  const char *key = check_key(L, 1, &klen);
  const void *bytes = NULL;  /* none: a deletion */
  char err[512];
  int rc = LPLUG_OK, isint = 0;
  lua_Integer n = 0;
  /* An integer, not any number: the float 3.0 must come back a float. */
  if (type == LUA_TNUMBER && lua_isinteger(L, 2))
    n = lua_tointegerx(L, 2, &isint);
  if (isint) {  /* the common counter: encoded here, no scratch */
    len = value_encode_integer(number, (long long)n);
    bytes = number;
  } else if (type != LUA_TNIL) {
    v = plugin_scratch(p);
    rc = value_from_lua_work(L, 2, v, "value", plugin_max_value(p), err,
                             sizeof err, &work);
    bytes = lplug_value_bytes(v, &len);
  }
  /* One charge, for the operation and the bytes copied (taken or refused:
  ** a refusal can come after copying up to the value limit), before the
  ** storage is touched or a refusal is said: a spent budget stops the
  ** call here. */
  budget_charge(L, OP_INSTRUCTIONS + (long long)((isint ? len : work) /
                                                 PLUGIN_BYTES_PER_INSTRUCTION));
  if (rc != LPLUG_OK) return fail_op(L, op, rc, err);
  rc = storage_set(s, p, key, klen, bytes, len, err, sizeof err);
  if (v) value_set_nil(v);
  charge_scanned(L, p);
  if (rc != LPLUG_OK) return fail_op(L, op, rc, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int storage_set_lua(lua_State *L) {
  int type = lua_type(L, 2);
  if (type == LUA_TNONE) luaL_checkany(L, 2);  /* raises: no value */
  return write_lua(L, "set", type);
}

static int storage_delete_lua(lua_State *L) {
  return write_lua(L, "delete", LUA_TNIL);
}

static int storage_incr_lua(lua_State *L) {
  plugin *p = plugin_of(L);
  storage *s = store(L, p);
  size_t klen;
  const char *key = check_key(L, 1, &klen);
  lua_Integer by = luaL_optinteger(L, 2, 1);
  long long n;
  char err[512];
  int rc;
  budget_charge(L, 2 * OP_INSTRUCTIONS);
  rc = storage_incr(s, p, key, klen, (long long)by, &n, err, sizeof err);
  charge_scanned(L, p);
  if (rc != LPLUG_OK) return fail_op(L, "incr", rc, err);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* The keys of one page, collected outside Lua first (pushing can raise,
** and a raise must not leave a database statement half read). */
typedef struct page {
  char *buf;        /* the plugin's text slot: keys back to back */
  size_t used, cap;
  size_t lens[STORAGE_KEYS_MAX];
  int n, failed;
} page;

static void collect(void *ud, const char *key, size_t len) {
  page *pg = ud;
  if (pg->failed) return;
  if (pg->used + len > pg->cap) {
    size_t cap = pg->cap ? pg->cap : 4096;
    char *b;
    while (cap < pg->used + len) cap *= 2;
    if ((b = realloc(pg->buf, cap)) == NULL) {
      pg->failed = 1;
      return;
    }
    pg->buf = b;
    pg->cap = cap;
  }
  memcpy(pg->buf + pg->used, key, len);
  pg->used += len;
  pg->lens[pg->n++] = len;
}

/* storage.keys's options: any other key is a mistake ({prfix = ...}
** would list every key), refused rather than ignored.  Read raw; the
** first unknown key ends the walk. */
static void check_option_keys(lua_State *L) {
  static const char *const known[] = {"prefix", "after", "limit", NULL};
  int i;
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    lua_pop(L, 1);                                     /* the value */
    for (i = 0; known[i] != NULL; i++)
      if (lua_type(L, -1) == LUA_TSTRING &&
          strcmp(lua_tostring(L, -1), known[i]) == 0)
        break;
    if (known[i] == NULL) {
      if (lua_type(L, -1) == LUA_TSTRING)
        lua_pushfstring(L, "unknown option '%s'", lua_tostring(L, -1));
      else
        lua_pushfstring(L, "unknown option, a %s key", luaL_typename(L, -1));
      lua_pushliteral(L, "; the options are prefix, after, limit");
      lua_concat(L, 2);
      luaL_argerror(L, 1, lua_tostring(L, -1));
    }
  }
}

/* Option `name` of the table at 1: a string (a number does not pass), or
** NULL when absent.  It stays on the stack, so it stays alive. */
static const char *opt_string(lua_State *L, const char *name, size_t *len) {
  *len = 0;
  lua_pushstring(L, name);
  switch (lua_rawget(L, 1)) {
    case LUA_TNIL: return NULL;
    case LUA_TSTRING: return lua_tolstring(L, -1, len);
    default:
      luaL_argerror(L, 1, lua_pushfstring(L, "'%s' must be a string, got %s",
                                          name, luaL_typename(L, -1)));
      return NULL;
  }
}

/* Option limit: an integer in 1..STORAGE_KEYS_MAX (not 2.0), or dflt. */
static lua_Integer opt_limit(lua_State *L, lua_Integer dflt) {
  lua_Integer limit = dflt;
  lua_pushliteral(L, "limit");
  if (lua_rawget(L, 1) != LUA_TNIL) {
    limit = lua_tointeger(L, -1);
    if (!lua_isinteger(L, -1) || limit < 1 || limit > STORAGE_KEYS_MAX)
      luaL_argerror(L, 1, lua_pushfstring(L, "'limit' must be an integer "
                    "from 1 to %d, got %s", STORAGE_KEYS_MAX,
                    lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1)
                                                   : luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  return limit;
}

static int storage_keys_lua(lua_State *L) {
  plugin *p = plugin_of(L);
  storage *s = store(L, p);
  char **text = plugin_text(p), err[512];
  const char *prefix = "", *after = NULL;
  size_t plen = 0, alen = 0, off = 0;
  lua_Integer limit = STORAGE_KEYS_DEFAULT;
  page *pg;
  int more, rc, i;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    check_option_keys(L);
    if ((prefix = opt_string(L, "prefix", &plen)) == NULL) prefix = "";
    after = opt_string(L, "after", &alen);
    limit = opt_limit(L, limit);
  }
  budget_charge(L, OP_INSTRUCTIONS + limit);
  pg = lua_newuserdatauv(L, sizeof *pg, 0);  /* charged to the plugin */
  memset(pg, 0, sizeof *pg);
  free(*text);
  *text = NULL;
  rc = storage_keys(s, p, prefix, plen, after, alen, (int)limit, collect, pg,
                    &more, err, sizeof err);
  *text = pg->buf;  /* owned by the plugin now: freed even if we raise */
  if (rc == LPLUG_OK && pg->failed) rc = LPLUG_ENOMEM;
  if (rc != LPLUG_OK) return fail_op(L, "keys", rc, err);
  /* each key a row read and a value made, as well as its bytes: by the
  ** bytes alone (a byte an instruction up front), paging through 5,000
  ** short keys in a loop kept the host 21 times longer than the
  ** instruction budget allows */
  budget_charge(L, (long long)(pg->used / PLUGIN_BYTES_PER_INSTRUCTION) +
                   (long long)pg->n * KEY_INSTRUCTIONS);
  lua_createtable(L, pg->n, 0);
  for (i = 0; i < pg->n; i++) {
    lua_pushlstring(L, pg->buf + off, pg->lens[i]);
    lua_rawseti(L, -2, i + 1);
    off += pg->lens[i];
  }
  if (more && pg->n > 0) {
    lua_rawgeti(L, -1, pg->n);  /* the cursor: the last key given */
    return 2;
  }
  return 1;
}

int luaopen_lplug_storage(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"get", storage_get_lua},
    {"set", storage_set_lua},
    {"delete", storage_delete_lua},
    {"incr", storage_incr_lua},
    {"keys", storage_keys_lua},
    {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}
