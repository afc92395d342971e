/*
** hooks.c -- the lplug.hooks module.
**
**   local hooks = require "lplug.hooks"
**   local h = hooks.on("record", function(rec) ... end, {priority = 10})
**   h:off()
**   return value, hooks.STOP     -- ends the chain
**
** Needs capability `hooks`, listing the hook points (or "*").
*/
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/internal.h"

static const char *const HANDLE = "lplug.hooks.handle";

typedef struct handle {
  lplug_hook *hook;
  unsigned long long seq;
} handle;

static int hooks_on(lua_State *L) {
  plugin *p = plugin_of(L);
  const char *name = luaL_checkstring(L, 1);
  lua_Integer priority = 0;
  handle *hd;
  lplug_hook *hook;
  unsigned long long seq;
  char list[512];
  int rc;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_getfield(L, 3, "priority") != LUA_TNIL) {
      int ok;
      priority = lua_tointegerx(L, -1, &ok);
      luaL_argcheck(L, ok && priority >= INT32_MIN && priority <= INT32_MAX,
                    3, "priority must be an integer");
    }
    lua_pop(L, 1);
  }
  plugin_require(L, p, "hooks", name, "hooks.on");
  hd = lua_newuserdatauv(L, sizeof *hd, 0);  /* before registering: */
  luaL_setmetatable(L, HANDLE);              /* nothing can fail after */
  lua_pushvalue(L, 2);
  rc = hook_add(p, name, (int)priority, &hook, &seq);
  if (rc == LPLUG_ENOTFOUND) {
    hook_names(p, list, sizeof list);
    return luaL_error(L, "hooks.on: no hook point '%s' (the host defines: "
                      "%s)", name, list);
  }
  if (rc == LPLUG_ESTATE)
    return luaL_error(L, "hooks.on: hook '%s' is running; register handlers "
                      "when the plugin loads", name);
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
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushlightuserdata(L, (void *)&hook_stop);
  lua_setfield(L, -2, "STOP");
  return 1;
}
