/*
** value_lua.h -- copying values between the encoding and a Lua stack.
** Uses only the Lua C API; never runs code of the state it reads.
*/
#ifndef LPLUG_VALUE_LUA_H
#define LPLUG_VALUE_LUA_H

#include <lua.h>
#include "value.h"

/* Encodes the Lua value at stack index `idx` into `out` (replacing what it
** held).  Reads with raw access only (no metamethod runs), never raises,
** and never allocates in L (so it is safe outside a protected call).
** `root` names the value in messages; a refusal writes one line into
** err (errsize bytes), naming the path, e.g.
**   "value.meta.fn is a function (only nil, booleans, numbers, strings
**    and tables can leave a plugin)"
** Refused: functions, userdata, threads, table keys that are not
** booleans/numbers/strings, cycles, nesting past LPLUG_MAX_DEPTH, and
** output past max_bytes.  On failure `out` is left unchanged.
** Returns LPLUG_OK, LPLUG_EVALUE or LPLUG_ENOMEM. */
int value_from_lua_work(lua_State *L, int idx, lplug_value *out,
                        const char *root, size_t max_bytes, char *err,
                        size_t errsize, size_t *work);

/* What copying one value (a key, an element, a table) costs besides its
** bytes, in bytes: walking or making a table, reading or setting a key
** costs 15-100 ns (Lua's table calls, string interning), not the 1 ns its
** few encoded bytes suggest.  Without it a 4 MB plugin's json.decode of
** 20,000 keys in a loop ran 4.4 s on the budget of 10M instructions that
** plain Lua spends in 40 ms, and 256 subscribers each given a copy of
** one emitted payload of 30,000 tables made one lplug_dispatch 0.34 s
** per event. */
#define VALUE_ITEM_WORK 64

/* The same; *work (when not NULL) is set to the bytes written plus
** VALUE_ITEM_WORK for each value walked, whether the value was taken or
** refused: what a plugin is charged for.  Refused late, a value can cost
** up to max_bytes of copying (a table holding one long string many
** times). */
static inline int value_from_lua(lua_State *L, int idx, lplug_value *out,
                                 const char *root, size_t max_bytes,
                                 char *err, size_t errsize) {
  return value_from_lua_work(L, idx, out, root, max_bytes, err, errsize,
                             NULL);
}

/* Pushes a new Lua copy of the value at position `at` of `v` (which must
** be well-formed: every constructor checks).  Allocates in L and raises
** on memory errors: call it inside a protected call.  Returns the work
** done: the value's bytes plus VALUE_ITEM_WORK for each value made (what
** a plugin is charged for a copy it asked for). */
size_t value_push_lua(lua_State *L, const lplug_value *v, size_t at);

/* Pushes v when it is nil, a boolean or a number -- pushes that never
** allocate nor raise, so they are safe outside a protected call (the
** caller makes sure of stack room) -- and returns 1; else 0, and pushes
** nothing.  Small integers, the most common hook argument, are pushed
** inline: through a call into value_lua.c and push() (whose frame is
** made for recursing into tables) they cost 30 more Ir per call in
** hook_int (883 then, callgrind). */
int value_push_other_scalar(lua_State *L, const lplug_value *v);
static inline int value_push_scalar(lua_State *L, const lplug_value *v) {
  if (v->bytes[0] >= VALUE_SMALLINT) {
    lua_pushinteger(L, v->bytes[0] & 0x7f);
    return 1;
  }
  return value_push_other_scalar(L, v);
}

#endif
