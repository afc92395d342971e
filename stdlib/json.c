/*
** json.c -- the lplug.json module.
**
**   json.encode(value)  -> text; raises naming the part that cannot be
**                          encoded (functions, cycles, too deep or big;
**                          NaN and infinities, strings that are not
**                          UTF-8, keys 1 and "1" in one table)
**   json.decode(text)   -> value, or nil and "line L, column C: ..."
**
** Both go through the value codec (engine/value_lua.h, engine/json.h):
** nesting is bounded by LPLUG_MAX_DEPTH, encoded size by the plugin's
** plugin_max_value, and the work is charged to the instruction budget by
** size before the result is pushed (so a huge document cannot buy CPU
** time for free).  JSON null decodes to nil.  Needs capability `json`.
*/
#include <stdlib.h>

#include <lauxlib.h>

#include "engine/internal.h"
#include "engine/json.h"
#include "engine/value_lua.h"
#include "sandbox/sandbox.h"


static int json_encode_lua(lua_State *L) {
  plugin *p = plugin_of(L);
  lplug_value *v = plugin_scratch(p);
  char **text = plugin_text(p), err[512];
  size_t len, work, limit = sandbox_of(L)->config.memory_limit;
  int rc;
  luaL_checkany(L, 1);
  rc = value_from_lua_work(L, 1, v, "value", plugin_max_value(p), err,
                           sizeof err, &work);
  /* Charged for the copying whether the value is taken or refused: one
  ** long string held many times is refused only once it has been copied
  ** up to the value limit. */
  budget_charge(L, (long long)(work / PLUGIN_BYTES_PER_INSTRUCTION));
  if (rc == LPLUG_ENOMEM) return luaL_error(L, "json.encode: out of memory");
  if (rc != LPLUG_OK) return luaL_error(L, "json.encode: %s", err);
  free(*text);
  *text = NULL;
  /* The text is made in the host's memory, outside the plugin's limit:
  ** it stops at the limit, which the result could not pass anyway (a
  ** value of control bytes grows sixfold as JSON). */
  rc = json_encode_text(v, 0, limit, "value", text, &len, err, sizeof err);
  value_set_nil(v);
  if (rc == LPLUG_EVALUE) return luaL_error(L, "json.encode: %s", err);
  if (rc != LPLUG_OK && len > 0)
    return luaL_error(L, "json.encode: the text would be over the plugin's "
                      "memory limit of %I bytes",
                      (LUAI_UACINT)limit);
  if (rc != LPLUG_OK) return luaL_error(L, "json.encode: out of memory");
  budget_charge(L, (long long)(len / PLUGIN_BYTES_PER_INSTRUCTION));
  lua_pushlstring(L, *text, len);
  free(*text);
  *text = NULL;
  return 1;
}

static int json_decode_lua(lua_State *L) {
  plugin *p = plugin_of(L);
  lplug_value *v = plugin_scratch(p);
  size_t len, work;
  const char *s = luaL_checklstring(L, 1, &len);
  char err[256];
  int rc;
  budget_charge(L, (long long)(len / PLUGIN_BYTES_PER_INSTRUCTION));
  rc = json_decode(s, len, v, err, sizeof err);
  if (rc == LPLUG_ENOMEM) return luaL_error(L, "json.decode: out of memory");
  if (rc != LPLUG_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  work = value_push_lua(L, v, 0);  /* one value, within the memory limit */
  value_set_nil(v);
  budget_charge(L, (long long)(work / PLUGIN_BYTES_PER_INSTRUCTION));
  return 1;
}

int luaopen_lplug_json(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"encode", json_encode_lua}, {"decode", json_decode_lua}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}
