/*
** test_binding.c -- the Lua 5.4 binding (bindings/lua) where a Lua host
** cannot take it: its own state running out of memory.  tests/lua/host.lua
** tests the rest of it from Lua.
**
** The binding is compiled into this test (one translation unit), and the
** host state runs on an allocator whose headroom the Lua code sets.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <lualib.h>
#include "bindings/lua/lplug_lua.c"
#include "support.h"

typedef struct budget {
  size_t used, max;
} budget;

static void *limited(void *ud, void *p, size_t osize, size_t nsize) {
  budget *b = ud;
  if (p == NULL) osize = 0;
  if (nsize == 0) {
    free(p);
    b->used -= osize;
    return NULL;
  }
  if (nsize > osize && b->used + (nsize - osize) > b->max) return NULL;
  p = realloc(p, nsize);
  if (p != NULL) b->used = b->used - osize + nsize;
  return p;
}

/* headroom(n): from now on the state may take n more bytes; nil lifts
** the limit. */
static int headroom(lua_State *L) {
  budget *b = lua_touserdata(L, lua_upvalueindex(1));
  b->max = lua_isnoneornil(L, 1) ? SIZE_MAX
                                 : b->used + (size_t)luaL_checkinteger(L, 1);
  return 0;
}

static lua_State *host_state(budget *b) {
  lua_State *L;
  b->used = 0;
  b->max = SIZE_MAX;
  L = lua_newstate(limited, b);
  assert_non_null(L);
  luaL_openlibs(L);
  luaL_requiref(L, "lplug", luaopen_lplug, 0);
  lua_pop(L, 1);
  lua_pushlightuserdata(L, b);
  lua_pushcclosure(L, headroom, 1);
  lua_setglobal(L, "headroom");
  return L;
}

/* Bytes malloc has handed out and not had back (heap and mapped). */
static size_t malloc_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/* A host callback's error is kept (malloc'd) while the engine runs and
** raised once the engine call returns.  When the host state has no room
** for the message, the call raises Lua's memory error instead, and the
** kept copy is freed all the same (it leaked: 1 MB here). */
static void binding_a_callback_error_without_room_is_freed(void **state) {
  budget b;
  char *root = support_tmpdir(), *dir;
  lua_State *L;
  size_t before;
  (void)state;
  dir = support_plugin(root, "talks", "name: talks\nversion: 1.0.0\n",
                       "print('loaded')\n");
  L = host_state(&b);
  before = malloc_in_use();
  lua_pushstring(L, dir);
  lua_setglobal(L, "DIR");
  if (luaL_dostring(L,
        "local lplug = require 'lplug'\n"
        "local big = string.rep('x', 1 << 20)\n"
        "local e = assert(lplug.new { grant = 'declared',\n"
        "  on_log = function() error(big, 0) end })\n"
        "headroom(64 * 1024)\n"
        "local ok, err = pcall(e.load, e, DIR)\n"
        "headroom(nil)\n"
        "e:close()\n"
        "assert(not ok, 'the load raised no error')\n"
        "assert(err == 'not enough memory', err:sub(1, 60))\n") != LUA_OK)
    fail_msg("%s", lua_tostring(L, -1));
  lua_close(L);
  /* Far under the message's 1 MB: what the engine and libraries keep
  ** across engines (caches) is small. */
  assert_true(malloc_in_use() < before + 512 * 1024);
  support_rmtree(root);
  free(dir);
  free(root);
}

/* The same callback error with room to spare is raised as it was. */
static void binding_a_callback_error_is_raised_after_the_call(void **state) {
  budget b;
  char *root = support_tmpdir(), *dir;
  lua_State *L;
  (void)state;
  dir = support_plugin(root, "talks", "name: talks\nversion: 1.0.0\n",
                       "print('loaded')\n");
  L = host_state(&b);
  lua_pushstring(L, dir);
  lua_setglobal(L, "DIR");
  if (luaL_dostring(L,
        "local lplug = require 'lplug'\n"
        "local e = assert(lplug.new { grant = 'declared',\n"
        "  on_log = function() error('no logs here', 0) end })\n"
        "local ok, err = pcall(e.load, e, DIR)\n"
        "assert(not ok and err == 'no logs here', tostring(err))\n"
        "assert(e:state('talks') == 'active', 'the load itself went on')\n"
        "e:close()\n") != LUA_OK)
    fail_msg("%s", lua_tostring(L, -1));
  lua_close(L);
  support_rmtree(root);
  free(dir);
  free(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(binding_a_callback_error_is_raised_after_the_call),
    cmocka_unit_test(binding_a_callback_error_without_room_is_freed),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("binding", tests, NULL, NULL);
}
