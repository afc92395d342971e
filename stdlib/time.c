/*
** time.c -- the lplug.time module.
**
**   time.now()        wall-clock seconds since the epoch, a float
**   time.monotonic()  seconds on a clock that never goes back, a float
**
** Needs capability `time`.
*/
#include <time.h>

#include <lauxlib.h>

#include "engine/internal.h"

static int time_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int time_monotonic(lua_State *L) {
  lua_pushnumber(L, (lua_Number)plugin_monotonic());
  return 1;
}

int luaopen_lplug_time(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"now", time_now}, {"monotonic", time_monotonic}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}
