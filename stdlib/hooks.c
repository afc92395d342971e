/*
** hooks.c -- the lplug.hooks module.
**
**   local hooks = require "lplug.hooks"
**   local h = hooks.on("record", function(rec) ... end,
**                      {priority = 10, before = {"geoip"}, after = {"redact"}})
**   h:off()
**   return value, hooks.STOP     -- ends the chain
**
** Needs capability `hooks`, listing the hook points (or "*").
*/
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/internal.h"
#include "engine/manifest.h"

static const char *const HANDLE = "lplug.hooks.handle";

typedef struct handle {
  lplug_hook *hook;
  unsigned long long seq;
} handle;

#define MAX_ORDER_NAMES 32   /* per list: more is misuse, not a plan */

/* Pushes the plugin names of option `key` (a list of strings, or one
** string) of the options table at 3, keeping them on the stack so that
** the pointers stored in names[] stay valid; returns how many. */
static int order_names(lua_State *L, const char *key, const char **names) {
  plugin *p = plugin_of(L);
  int n = 0, type = lua_getfield(L, 3, key);
  if (type == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (type == LUA_TSTRING) {   /* before = "geoip" means {"geoip"} */
    lua_newtable(L);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
  } else if (type != LUA_TTABLE) {
    return luaL_error(L, "bad argument #3 to 'on' (%s must be a list of "
                      "plugin names, got %s)", key, luaL_typename(L, -1));
  }
  luaL_checkstack(L, MAX_ORDER_NAMES + 2, "hooks.on");
  for (;;) {
    int t = lua_rawgeti(L, -1 - n, n + 1);  /* the list is below names */
    if (t == LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    if (t != LUA_TSTRING || n == MAX_ORDER_NAMES ||
        lua_rawlen(L, -1) > MANIFEST_MAX_NAME)
      return luaL_error(L, "bad argument #3 to 'on' (%s[%d] must be a plugin "
                        "name%s)", key, n + 1, t != LUA_TSTRING ? "" :
                        n == MAX_ORDER_NAMES ? ", at most 32 of them" :
                        ", at most 64 characters");
    names[n] = lua_tostring(L, -1);
    if (strcmp(names[n], plugin_name(p)) == 0)
      return luaL_error(L, "bad argument #3 to 'on' (%s names the plugin "
                        "itself; order its own handlers with priority)", key);
    n++;
  }
  return n;
}

/* A handler may not have to run both before and after one plugin.  Only
** arriving later would that plugin see the contradiction, and be the one
** refused: a plugin could keep another from loading that way. */
static void check_contradiction(lua_State *L, const hook_order *order) {
  int i, j;
  for (i = 0; i < order->nbefore; i++)
    for (j = 0; j < order->nafter; j++)
      if (strcmp(order->before[i], order->after[j]) == 0)
        luaL_error(L, "bad argument #3 to 'on' ('%s' is named in both "
                   "before and after)", order->before[i]);
}

static int hooks_on(lua_State *L) {
  plugin *p = plugin_of(L);
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  const char *before[MAX_ORDER_NAMES], *after[MAX_ORDER_NAMES];
  hook_order order = {before, 0, after, 0};
  lua_Integer priority = 0;
  handle *hd;
  lplug_hook *hook;
  unsigned long long seq;
  char list[512], err[512];
  int rc;
  luaL_argcheck(L, strlen(name) == len, 1, "a hook name has no NUL byte");
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_getfield(L, 3, "priority") != LUA_TNIL) {
      int ok;
      priority = lua_tointegerx(L, -1, &ok);
      /* the engine keeps an int: a wider one would wrap, not sort */
      luaL_argcheck(L, ok && priority >= INT32_MIN && priority <= INT32_MAX,
                    3, "priority must be an integer from -2147483648 to "
                    "2147483647");
    }
    lua_pop(L, 1);
    lua_settop(L, 3);          /* the names stay above, until we return */
    order.nbefore = order_names(L, "before", before);
    order.nafter = order_names(L, "after", after);
    check_contradiction(L, &order);
  }
  plugin_require(L, p, "hooks", name, "hooks.on");
  hd = lua_newuserdatauv(L, sizeof *hd, 0);  /* before registering: */
  luaL_setmetatable(L, HANDLE);              /* nothing can fail after */
  lua_pushvalue(L, 2);
  rc = hook_add(p, name, (int)priority, &order, &hook, &seq, err,
                sizeof err);
  if (rc == LPLUG_ENOTFOUND) {
    hook_names(p, list, sizeof list);
    return luaL_error(L, "hooks.on: no hook point '%s' (the host defines: "
                      "%s)", name, list);
  }
  if (rc == LPLUG_ESTATE)
    return luaL_error(L, "hooks.on: hook '%s' is running; register handlers "
                      "when the plugin loads", name);
  if (rc == LPLUG_EINVAL) return luaL_error(L, "hooks.on: %s", err);
  if (rc != LPLUG_OK) return luaL_error(L, "hooks.on: out of memory");
  hd->hook = hook;
  hd->seq = seq;
  return 1;
}

static int handle_off(lua_State *L) {
  handle *hd = luaL_checkudata(L, 1, HANDLE);
  lua_pushboolean(L, hd->hook && hook_off(hd->hook, hd->seq));
  hd->hook = NULL;
  return 1;
}

int luaopen_lplug_hooks(lua_State *L) {
  static const luaL_Reg funcs[] = {{"on", hooks_on}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"off", handle_off}, {NULL, NULL}};
  if (luaL_newmetatable(L, HANDLE)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "hook handle");
    lua_setfield(L, -2, "__name");
    /* Hidden: a __gc added to it would run unbudgeted (events.c). */
    lua_pushliteral(L, "hook handle");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushlightuserdata(L, (void *)&hook_stop);
  lua_setfield(L, -2, "STOP");
  return 1;
}
