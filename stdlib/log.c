/*
** log.c -- the lplug.log module: messages to the host's log sink.
**
**   local log = require "lplug.log"
**   log.info("seen %d records", n)      -- also debug, warn, error
**
** Arguments are formatted as by string.format.  The host sees each line
** with the plugin's name (the lplug command prints "[name] text" on
** stderr).  Messages are rate-limited per plugin (plugin_log) so that a
** plugin cannot flood the host; what is dropped is counted and said.
** Needs capability `log`.
*/
#include <lauxlib.h>

#include "engine/internal.h"
#include "sandbox/sandbox.h"

#define MAX_MESSAGE 4096

/* Formats with the sandbox's own string.format, called in this call:
** the plugin's string.format may have been replaced by anything (one
** returning nil made the host's log callback get a NULL message), and an
** error names log.info's argument ("bad argument #2 to 'info'"). */
static int emit(lua_State *L, int level) {
  size_t len;
  const char *text;
  luaL_checkstring(L, 1);
  if (lua_gettop(L) > 1) guards_string_format(L);  /* pushes a string */
  text = lua_tolstring(L, -1, &len);
  if (len > MAX_MESSAGE) {
    lua_pushlstring(L, text, MAX_MESSAGE);
    lua_pushliteral(L, "... (cut)");
    lua_concat(L, 2);
    text = lua_tostring(L, -1);
  }
  plugin_log(plugin_of(L), level, text);
  return 0;
}

static int log_debug(lua_State *L) { return emit(L, LPLUG_LOG_DEBUG); }
static int log_info(lua_State *L) { return emit(L, LPLUG_LOG_INFO); }
static int log_warn(lua_State *L) { return emit(L, LPLUG_LOG_WARN); }
static int log_error(lua_State *L) { return emit(L, LPLUG_LOG_ERROR); }

int luaopen_lplug_log(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"debug", log_debug}, {"info", log_info}, {"warn", log_warn},
    {"error", log_error}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}
