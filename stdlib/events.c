/*
** events.c -- the lplug.events module.
**
**   local events = require "lplug.events"
**   events.emit("counter.tick", { n = 3 })   -- true, or nil and why
**   local h = events.on("alert.*", function(payload, topic) ... end,
**                       { once = false })
**   h:off()
**
** emit queues a copy (delivered when the host dispatches); on subscribes.
** Topics the plugin emits must match capabilities.events.emit, patterns it
** subscribes to capabilities.events.on, and the host must grant them.  A
** full queue is expected back-pressure: emit returns nil and a message.
*/
#include <string.h>

#include <lauxlib.h>

#include "engine/internal.h"
#include "engine/value_lua.h"
#include "sandbox/sandbox.h"

static const char *const HANDLE = "lplug.events.handle";

/* What an emit costs besides copying its payload and the matching it
** makes at dispatch, and a subscription besides its pattern and its
** matching (events_emit_match_cost, events_on_match_cost). */
#define EMIT_INSTRUCTIONS 100

/* Argument 1, a topic or pattern of len bytes, is too long. */
static int too_long(lua_State *L, const char *what, size_t len) {
  return luaL_argerror(L, 1, lua_pushfstring(L, "%s of %I bytes is longer "
                       "than %d", what, (lua_Integer)len, LPLUG_MAX_TOPIC));
}

static int events_emit(lua_State *L) {
  plugin *p = plugin_of(L);
  size_t len, work, bytes;
  const char *topic = luaL_checklstring(L, 1, &len);
  lplug_value *scratch = plugin_scratch(p), *v;
  char err[512];
  int rc;
  lua_settop(L, 2);
  /* strlen: a NUL would cut the topic the host and the grants see */
  if (len > LPLUG_MAX_TOPIC) return too_long(L, "topic", len);
  luaL_argcheck(L, events_valid(topic, 0) && strlen(topic) == len, 1,
                "topic must be dot-separated words of A-Z a-z 0-9 _ - :");
  plugin_require(L, p, "events.emit", topic, "events.emit");
  rc = value_from_lua_work(L, 2, scratch, "payload", plugin_max_value(p), err,
                           sizeof err, &work);
  /* The copying is charged whether the payload is taken, refused or finds
  ** the queue full: one long string held many times is refused only once
  ** it has been copied up to the value limit.  (The payload is in p's
  ** scratch value: a charge that stops the call leaks nothing.) */
  budget_charge(L, EMIT_INSTRUCTIONS +
                       (long long)(work / PLUGIN_BYTES_PER_INSTRUCTION) +
                       events_emit_match_cost(p, len));
  if (rc != LPLUG_OK) {
    value_set_nil(scratch);
    return luaL_error(L, "events.emit: %s", rc == LPLUG_ENOMEM ?
                      "out of memory" : err);
  }
  if ((v = lplug_value_new()) == NULL) {
    value_set_nil(scratch);
    return luaL_error(L, "events.emit: out of memory");
  }
  value_swap(scratch, v);
  lplug_value_bytes(v, &bytes);
  rc = events_emit_from(p, topic, v);  /* takes v */
  if (rc == LPLUG_EVALUE) {
    luaL_pushfail(L);
    lua_pushfstring(L, "event payload of %I bytes is larger than the whole "
                    "event queue allows (the host's event_queue_bytes): it "
                    "can never be queued", (lua_Integer)bytes);
    return 2;
  }
  if (rc == LPLUG_EFULL) {
    luaL_pushfail(L);
    lua_pushliteral(L, "event queue is full (the host has not dispatched "
                    "the events queued before; try again later)");
    return 2;
  }
  if (rc != LPLUG_OK) return luaL_error(L, "events.emit: out of memory");
  lua_pushboolean(L, 1);
  return 1;
}

static int events_on(lua_State *L) {
  plugin *p = plugin_of(L);
  size_t len;
  const char *pattern = luaL_checklstring(L, 1, &len);
  int once = 0, ref;
  long long *id;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_getfield(L, 3, "once");
    once = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (len > LPLUG_MAX_TOPIC) return too_long(L, "pattern", len);
  luaL_argcheck(L, events_valid(pattern, 1) && strlen(pattern) == len, 1,
                "pattern must be dot-separated words or '*'");
  plugin_require(L, p, "events.on", pattern, "events.on");
  budget_charge(L, EMIT_INSTRUCTIONS + (long long)len +
                       events_on_match_cost(p, len));
  id = lua_newuserdatauv(L, sizeof *id, 0);  /* before subscribing: */
  luaL_setmetatable(L, HANDLE);              /* nothing fails after */
  *id = 0;
  lua_pushvalue(L, 2);
  ref = luaL_ref(L, LUA_REGISTRYINDEX);
  *id = events_subscribe_plugin(p, pattern, ref, once);
  if (*id < 0) {
    int rc = (int)*id;
    *id = 0;
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    if (rc == LPLUG_EINVAL)
      return luaL_error(L, "events.on: a plugin may have at most %d "
                        "subscriptions (turn some off with h:off())",
                        EVENTS_MAX_PER_PLUGIN);
    return luaL_error(L, "events.on: out of memory");
  }
  return 1;
}

static int handle_off(lua_State *L) {
  long long *id = luaL_checkudata(L, 1, HANDLE);
  lua_pushboolean(L, *id > 0 && events_unsubscribe_plugin(plugin_of(L), *id));
  *id = 0;
  return 1;
}

int luaopen_lplug_events(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"emit", events_emit}, {"on", events_on}, {NULL, NULL}
  };
  static const luaL_Reg methods[] = {{"off", handle_off}, {NULL, NULL}};
  if (luaL_newmetatable(L, HANDLE)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    /* Hidden, as every metatable the engine sets on a plugin's objects:
    ** a __gc added to it would make every later handle finalizable, and
    ** Lua runs finalizers with hooks off, beyond any budget. */
    lua_pushliteral(L, "event handle");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
