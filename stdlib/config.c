/*
** config.c -- the lplug.config module: the plugin's configuration, as the
** host set it and its manifest's schema checked it, read-only.
**
**   local config = require "lplug.config"
**   config.threshold              -- 10, or what the host set
**   config.servers[1], #config.servers, ipairs(config.servers)
**   for key, value in pairs(config) do ... end
**   local mine = config()         -- a plain deep copy to change or pass on
**                                 -- (config.servers() copies one table)
**
** Every table of the configuration is a userdata proxy over a hidden
** table.  A plain table with __newindex would not do: rawset writes
** through it, and keys it holds are assigned without asking.  A userdata
** refuses rawset, rawget, next and setmetatable, and its metatable is
** hidden (__metatable), so a write can only raise, naming the key.  pairs
** iterates with a closure over the hidden table, never handing it out.
** The proxies are built when the module is first required (require caches
** it), charged to the call's budget by size.  Needs capability `config`.
*/
#include <lauxlib.h>

#include "engine/internal.h"
#include "engine/value_lua.h"
#include "sandbox/sandbox.h"

#define MAX_KEY_SHOWN 64

static const char *const PROXY = "lplug.config";

typedef struct proxy {
  size_t at;                  /* the table's position in plugin_config */
} proxy;

/* Pushes a scalar key of v (keys of sequences are not byte positions, so
** value_push_lua cannot take them). */
static void push_key(lua_State *L, const lplug_value *v, size_t k) {
  size_t len;
  const char *s;
  switch (lplug_value_type(v, k)) {
    case LPLUG_TSTRING:
      s = lplug_value_string(v, k, &len);
      lua_pushlstring(L, s, len);
      break;
    case LPLUG_TINTEGER: lua_pushinteger(L, lplug_value_integer(v, k, NULL));
      break;
    case LPLUG_TFLOAT: lua_pushnumber(L, lplug_value_float(v, k, NULL));
      break;
    default: lua_pushboolean(L, lplug_value_boolean(v, k));
  }
}

static int is_name(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
          (i > 0 && c >= '0' && c <= '9')))
      return 0;
  }
  return len > 0;
}

/* Pushes the path of key (at index `key`) under the path at index `path`:
** config.a, config.a[2], config["a-b"]. */
static void push_path(lua_State *L, int path, int key) {
  const char *base;
  size_t len;
  const char *s;
  path = lua_absindex(L, path);
  key = lua_absindex(L, key);
  base = lua_tostring(L, path);
  switch (lua_type(L, key)) {
    case LUA_TSTRING:
      s = lua_tolstring(L, key, &len);
      if (len > MAX_KEY_SHOWN)
        lua_pushfstring(L, "%s[\"%s...\"]", base,
                        lua_pushlstring(L, s, MAX_KEY_SHOWN));
      else if (is_name(s, len))
        lua_pushfstring(L, "%s.%s", base, s);
      else
        lua_pushfstring(L, "%s[\"%s\"]", base, s);
      if (len > MAX_KEY_SHOWN) lua_remove(L, -2);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, key))
        lua_pushfstring(L, "%s[%I]", base, (LUA_INTEGER)lua_tointeger(L, key));
      else
        lua_pushfstring(L, "%s[%f]", base, lua_tonumber(L, key));
      break;
    default:
      lua_pushfstring(L, "%s[<%s>]", base, luaL_typename(L, key));
  }
}

/* Replaces the path on top of L with a proxy of the table at `at` of v. */
static void push_proxy(lua_State *L, const lplug_value *v, size_t at) {
  size_t iter = 0, k, val;
  proxy *px;
  luaL_checkstack(L, 6, "configuration nested too deep");
  lua_createtable(L, 0, 0);                           /* path data */
  while (lplug_value_next(v, at, &iter, &k, &val)) {
    push_key(L, v, k);                                /* path data key */
    if (lplug_value_type(v, val) == LPLUG_TTABLE) {
      push_path(L, -3, -1);                           /* ... key path' */
      push_proxy(L, v, val);                          /* ... key proxy */
    } else {
      value_push_lua(L, v, val);                      /* ... key value */
    }
    lua_rawset(L, -3);                                /* path data */
  }
  px = lua_newuserdatauv(L, sizeof *px, 2);           /* path data px */
  px->at = at;
  lua_insert(L, -3);                                  /* px path data */
  lua_setiuservalue(L, -3, 1);                        /* px path */
  lua_setiuservalue(L, -2, 2);                        /* px */
  luaL_setmetatable(L, PROXY);
}

static int proxy_index(lua_State *L) {
  luaL_checkudata(L, 1, PROXY);
  lua_settop(L, 2);
  lua_getiuservalue(L, 1, 1);                         /* px key data */
  lua_insert(L, 2);                                   /* px data key */
  lua_rawget(L, 2);
  return 1;
}

static int proxy_newindex(lua_State *L) {
  luaL_checkudata(L, 1, PROXY);
  lua_settop(L, 2);
  lua_getiuservalue(L, 1, 2);                         /* px key path */
  push_path(L, 3, 2);
  return luaL_error(L, "%s is read-only (the host sets the configuration; "
                    "to change a copy, take one with config())",
                    lua_tostring(L, -1));
}

static int proxy_len(lua_State *L) {
  luaL_checkudata(L, 1, PROXY);
  lua_getiuservalue(L, 1, 1);
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
  return 1;
}

/* The iterator pairs returns: next over the hidden table (an upvalue). */
static int proxy_next(lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, lua_upvalueindex(1))) return 2;
  lua_pushnil(L);
  return 1;
}

static int proxy_pairs(lua_State *L) {
  luaL_checkudata(L, 1, PROXY);
  lua_getiuservalue(L, 1, 1);
  lua_pushcclosure(L, proxy_next, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

/* config() and config.x(): a plain copy, the plugin's to change.
** Charged after the copy (one value, within the memory limit) for what
** it made, each value as well as the bytes: by the bytes alone, copying
** a default list of 900 numbers in a loop kept the host 23 times longer
** than the instruction budget allows. */
static int proxy_copy(lua_State *L) {
  proxy *px = luaL_checkudata(L, 1, PROXY);
  size_t work = value_push_lua(L, plugin_config(plugin_of(L)), px->at);
  budget_charge(L, (long long)(work / PLUGIN_BYTES_PER_INSTRUCTION));
  return 1;
}

static int proxy_tostring(lua_State *L) {
  luaL_checkudata(L, 1, PROXY);
  lua_getiuservalue(L, 1, 2);
  lua_pushfstring(L, "%s (read-only configuration)", lua_tostring(L, -1));
  return 1;
}

int luaopen_lplug_config(lua_State *L) {
  static const luaL_Reg meta[] = {
    {"__index", proxy_index}, {"__newindex", proxy_newindex},
    {"__len", proxy_len}, {"__pairs", proxy_pairs}, {"__call", proxy_copy},
    {"__tostring", proxy_tostring}, {NULL, NULL}
  };
  const lplug_value *v = plugin_config(plugin_of(L));
  size_t len;
  if (luaL_newmetatable(L, PROXY)) {
    luaL_setfuncs(L, meta, 0);
    lua_pushliteral(L, "lplug.config is read-only");
    lua_setfield(L, -2, "__metatable");  /* getmetatable gives only this */
  }
  lua_pop(L, 1);
  lplug_value_bytes(v, &len);
  budget_charge(L, (long long)(len / PLUGIN_BYTES_PER_INSTRUCTION));
  lua_pushliteral(L, "config");
  push_proxy(L, v, 0);
  return 1;
}
