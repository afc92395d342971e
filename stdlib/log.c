/*
** log.c -- the lplug.log module: messages to the host's log sink.
**
**   local log = require "lplug.log"
**   log.info("seen %d records", n)      -- also debug, warn, error
**
** Arguments are formatted as by string.format.  The host sees each line
** with the plugin's name (the lplug command prints "[name] text" on
** stderr).  Messages, and what print says, are rate-limited per plugin
** (plugin_log) so that a plugin cannot flood the host; what is dropped is
** counted and said.
** Needs capability `log`.
*/
#include <lauxlib.h>

#include "engine/internal.h"
#include "sandbox/sandbox.h"

/* Formats with the sandbox's own string.format, called in this call:
** the plugin's string.format may have been replaced by anything (one
** returning nil made the host's log callback get a NULL message), and an
** error names log.info's argument ("bad argument #2 to 'info'").
** The line is made as print's (baselib_addline): NUL bytes as \0, cut
** after 4 KB with "... (cut)". */
static int emit(lua_State *L, int level) {
  size_t len;
  const char *text;
  luaL_Buffer b;
  luaL_checkstring(L, 1);
  if (lua_gettop(L) > 1) guards_string_format(L);  /* pushes a string */
  text = lua_tolstring(L, -1, &len);
  luaL_buffinit(L, &b);                 /* above the text, which stays */
  baselib_addline(&b, text, len);
  luaL_pushresult(&b);
  plugin_log(plugin_of(L), level, lua_tostring(L, -1));
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
