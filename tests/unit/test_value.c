/*
** test_value.c -- the value codec: the builder, the reader, the checker
** of untrusted bytes, and copies into and out of Lua states (raw reads,
** refusals with the path of the offending part, limits).
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>
#include "engine/engine.h"
#include "engine/internal.h"
#include "engine/json.h"
#include "engine/value_lua.h"
#include "support.h"

#define NOLIMIT ((size_t)-1)

/*
** {======================================================
** Helpers
** =======================================================
*/

/* Whether a at pa and b at pb hold the same value (table order aside). */
static int same(const lplug_value *a, size_t pa, const lplug_value *b,
                size_t pb) {
  size_t la, lb, it = 0, ka, xa;
  const char *sa, *sb;
  double fa, fb;
  int t = lplug_value_type(a, pa);
  if (t != lplug_value_type(b, pb)) return 0;
  switch (t) {
    case LPLUG_TNIL: return 1;
    case LPLUG_TBOOLEAN:
      return lplug_value_boolean(a, pa) == lplug_value_boolean(b, pb);
    case LPLUG_TINTEGER:
      return lplug_value_integer(a, pa, NULL) ==
             lplug_value_integer(b, pb, NULL);
    case LPLUG_TFLOAT:
      fa = lplug_value_float(a, pa, NULL);
      fb = lplug_value_float(b, pb, NULL);
      return memcmp(&fa, &fb, sizeof fa) == 0 || (isnan(fa) && isnan(fb));
    case LPLUG_TSTRING:
      sa = lplug_value_string(a, pa, &la);
      sb = lplug_value_string(b, pb, &lb);
      return la == lb && memcmp(sa, sb, la) == 0;
    case LPLUG_TTABLE: {
      size_t lt = 0, kb, xb;   /* b in step with a while the keys agree */
      if (lplug_value_count(a, pa) != lplug_value_count(b, pb)) return 0;
      while (lplug_value_next(a, pa, &it, &ka, &xa)) {
        size_t jt = 0;
        int found = lplug_value_next(b, pb, &lt, &kb, &xb) &&
                    same(a, ka, b, kb);
        while (!found && lplug_value_next(b, pb, &jt, &kb, &xb))
          found = same(a, ka, b, kb);
        if (!found || !same(a, xa, b, xb)) return 0;
      }
      return 1;
    }
    default: return 0;
  }
}

/* The sample most tests use:
** {"a", "b", name = "lplug", n = -3, f = 1.5, ok = true,
**  nested = {x = {y = 300}}} */
static lplug_value *sample(void) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_table(b);
  lplug_build_integer(b, 1);  lplug_build_string(b, "a", 1);
  lplug_build_integer(b, 2);  lplug_build_string(b, "b", 1);
  lplug_build_string(b, "name", 4);  lplug_build_string(b, "lplug", 5);
  lplug_build_string(b, "n", 1);     lplug_build_integer(b, -3);
  lplug_build_string(b, "f", 1);     lplug_build_float(b, 1.5);
  lplug_build_string(b, "ok", 2);    lplug_build_boolean(b, 1);
  lplug_build_string(b, "nested", 6);
  lplug_build_table(b);
  lplug_build_string(b, "x", 1);
  lplug_build_table(b);
  lplug_build_string(b, "y", 1);     lplug_build_integer(b, 300);
  lplug_build_end(b);
  lplug_build_end(b);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  lplug_builder_free(b);
  return v;
}

static const char *field_string(const lplug_value *v, const char *key) {
  size_t at;
  return lplug_value_field(v, 0, key, &at) ? lplug_value_string(v, at, NULL)
                                            : NULL;
}

static void assert_bytes(const lplug_value *v, const char *hex) {
  char got[512];
  size_t i, n, used = 0;
  const unsigned char *p = lplug_value_bytes(v, &n);
  got[0] = 0;
  for (i = 0; i < n && used + 4 < sizeof got; i++)
    used += (size_t)snprintf(got + used, sizeof got - used,
                             i ? " %02x" : "%02x", p[i]);
  assert_string_equal(got, hex);
}

/* A value holding the result of Lua `chunk`; rc and message out. */
static int from_lua(const char *chunk, lplug_value *out, size_t max,
                    char *err, size_t errsize) {
  lua_State *L = luaL_newstate();
  int rc, top;
  luaL_openlibs(L);
  if (luaL_dostring(L, chunk) != LUA_OK) fail_msg("%s", lua_tostring(L, -1));
  top = lua_gettop(L);
  rc = value_from_lua(L, -1, out, "value", max, err, errsize);
  assert_int_equal(lua_gettop(L), top);      /* the stack is as it was */
  lua_getglobal(L, "ran");                   /* no metamethod ran */
  assert_true(lua_isnil(L, -1));
  lua_close(L);
  return rc;
}

static void expect_refusal(const char *chunk, int code, const char *msg) {
  char err[512];
  lplug_value *v = lplug_value_new();
  assert_int_equal(from_lua(chunk, v, NOLIMIT, err, sizeof err), code);
  assert_string_equal(err, msg);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TNIL);   /* unchanged */
  lplug_value_free(v);
}

static int push_arg(lua_State *L) {
  value_push_lua(L, lua_touserdata(L, 1), 0);
  return 1;
}

/* Pushes v into a fresh state (inside lua_pcall) and passes it to the
** Lua function `check`, which must return true. */
static void check_in_lua(const lplug_value *v, const char *check) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  if (luaL_loadstring(L, check) != LUA_OK)
    fail_msg("%s", lua_tostring(L, -1));
  lua_pushcfunction(L, push_arg);
  lua_pushlightuserdata(L, (void *)v);
  assert_int_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) fail_msg("%s", lua_tostring(L, -1));
  assert_true(lua_toboolean(L, -1));
  lua_close(L);
}

/* v copied into a fresh state and back. */
static lplug_value *through_lua(const lplug_value *v) {
  lua_State *L = luaL_newstate();
  lplug_value *back = lplug_value_new();
  char err[256];
  lua_pushcfunction(L, push_arg);
  lua_pushlightuserdata(L, (void *)v);
  assert_int_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
  assert_int_equal(value_from_lua(L, -1, back, "value", NOLIMIT, err,
                                  sizeof err), LPLUG_OK);
  lua_close(L);
  return back;
}

/* A value whose bytes are exactly an n-byte malloc'd block, so ASan
** sees any read past the end. */
static lplug_value exact(const void *bytes, size_t n) {
  lplug_value v;
  v.bytes = malloc(n ? n : 1);
  memcpy(v.bytes, bytes, n);
  v.len = v.cap = n;
  return v;
}

/* }====================================================== */


/*
** {======================================================
** Builder and reader
** =======================================================
*/

static void value_new_holds_nil(void **state) {
  lplug_value *v = lplug_value_new();
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TNIL);
  assert_int_equal(lplug_value_type(v, 1), LPLUG_TNONE);
  assert_bytes(v, "00");
  lplug_value_free(v);
  lplug_value_free(NULL);
}

static void value_encoding_is_compact_and_documented(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_table(b);                      /* {10, x = true} */
  lplug_build_integer(b, 1);  lplug_build_integer(b, 10);
  lplug_build_string(b, "x", 1);  lplug_build_boolean(b, 1);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_bytes(v, "06 08 00 00 00 01 01 8a 05 01 78 00 02");
  lplug_build_integer(b, -1);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_bytes(v, "03 01");
  lplug_build_integer(b, 128);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_bytes(v, "03 80 02");
  lplug_build_float(b, 1.5);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_bytes(v, "04 00 00 00 00 00 00 f8 3f");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void value_roundtrip_scalars(void **state) {
  static const long long ints[] = {0, 1, 127, 128, -1, -64, 300, 1LL << 40,
                                   LLONG_MAX, LLONG_MIN};
  static const double floats[] = {0.0, -0.0, 1.5, -1e300, 5e-324};
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  size_t i, len;
  int ok;
  for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    lplug_build_integer(b, ints[i]);
    assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
    assert_int_equal(lplug_value_type(v, 0), LPLUG_TINTEGER);
    assert_true(lplug_value_integer(v, 0, &ok) == ints[i] && ok);
  }
  for (i = 0; i < sizeof floats / sizeof floats[0]; i++) {
    double d;
    lplug_build_float(b, floats[i]);
    assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
    assert_int_equal(lplug_value_type(v, 0), LPLUG_TFLOAT);
    d = lplug_value_float(v, 0, &ok);
    assert_true(ok && memcmp(&d, &floats[i], sizeof d) == 0);
  }
  lplug_build_float(b, NAN);                 /* NaN is a fine value */
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_true(isnan(lplug_value_float(v, 0, NULL)));
  lplug_build_boolean(b, 7);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TBOOLEAN);
  assert_int_equal(lplug_value_boolean(v, 0), 1);
  lplug_build_string(b, "a\0b", 3);          /* NULs are kept */
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_memory_equal(lplug_value_string(v, 0, &len), "a\0b", 4);
  assert_int_equal(len, 3);
  lplug_build_string(b, NULL, 0);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void value_numbers_read_each_other_only_when_exact(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  int ok;
  lplug_build_float(b, 2.0);
  lplug_builder_finish(b, v);
  assert_true(lplug_value_integer(v, 0, &ok) == 2 && ok);
  lplug_build_float(b, 2.5);
  lplug_builder_finish(b, v);
  assert_true(lplug_value_integer(v, 0, &ok) == 0 && !ok);
  lplug_build_float(b, 9223372036854775808.0);
  lplug_builder_finish(b, v);
  lplug_value_integer(v, 0, &ok);
  assert_false(ok);
  lplug_build_integer(b, 3);
  lplug_builder_finish(b, v);
  assert_true(lplug_value_float(v, 0, &ok) == 3.0 && ok);
  lplug_build_integer(b, (1LL << 53) + 1);
  lplug_builder_finish(b, v);
  lplug_value_float(v, 0, &ok);
  assert_false(ok);
  lplug_build_string(b, "3", 1);
  lplug_builder_finish(b, v);
  lplug_value_integer(v, 0, &ok);
  assert_false(ok);
  assert_null(lplug_value_string(v, 5, NULL));
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void value_roundtrip_nested_table(void **state) {
  lplug_value *v = sample(), *c;
  size_t at, x, y, it = 0, k, val, len;
  int n = 0;
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TTABLE);
  assert_int_equal(lplug_value_count(v, 0), 7);
  assert_true(lplug_value_field(v, 0, "name", &at));
  assert_string_equal(lplug_value_string(v, at, &len), "lplug");
  assert_true(lplug_value_index(v, 0, 2, &at));
  assert_string_equal(lplug_value_string(v, at, NULL), "b");
  assert_false(lplug_value_index(v, 0, 3, &at));
  assert_false(lplug_value_field(v, 0, "missing", &at));
  assert_true(lplug_value_field(v, 0, "nested", &at));
  assert_true(lplug_value_field(v, at, "x", &x));
  assert_true(lplug_value_field(v, x, "y", &y));
  assert_int_equal(lplug_value_integer(v, y, NULL), 300);
  assert_false(lplug_value_field(v, y, "y", &at));      /* not a table */
  /* order: the array part (keys read as integers), then the rest */
  while (lplug_value_next(v, 0, &it, &k, &val)) {
    if (n < 2) {
      assert_int_equal(lplug_value_type(v, k), LPLUG_TINTEGER);
      assert_int_equal(lplug_value_integer(v, k, NULL), n + 1);
    } else {
      assert_int_equal(lplug_value_type(v, k), LPLUG_TSTRING);
    }
    n++;
  }
  assert_int_equal(n, 7);
  c = lplug_value_copy(v);
  assert_true(same(v, 0, c, 0));
  lplug_value_free(c);
  lplug_value_free(v);
}

static void value_builder_puts_leading_integer_keys_in_the_array_part(
    void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  size_t at;
  lplug_build_table(b);                      /* {1, nil, 3, [5] = 5} */
  lplug_build_integer(b, 1);  lplug_build_integer(b, 1);
  lplug_build_float(b, 2.0);  lplug_build_nil(b);     /* 2.0 is key 2 */
  lplug_build_integer(b, 3);  lplug_build_integer(b, 3);
  lplug_build_integer(b, 5);  lplug_build_integer(b, 5);
  lplug_build_string(b, "gone", 4);  lplug_build_nil(b);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_bytes(v, "06 07 00 00 00 03 01 81 00 83 85 85");
  assert_int_equal(lplug_value_count(v, 0), 3);
  assert_false(lplug_value_index(v, 0, 2, &at));        /* a hole */
  assert_true(lplug_value_index(v, 0, 5, &at));
  lplug_build_table(b);                      /* {1, nil, nil}: holes trimmed */
  lplug_build_integer(b, 1);  lplug_build_integer(b, 1);
  lplug_build_integer(b, 2);  lplug_build_nil(b);
  lplug_build_integer(b, 3);  lplug_build_nil(b);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_bytes(v, "06 03 00 00 00 01 00 81");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void value_roundtrip_big_tables(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new(), *c;
  char key[16];
  size_t at;
  int i;
  lplug_build_table(b);
  for (i = 1; i <= 20000; i++) {             /* counts past one varint byte */
    lplug_build_integer(b, i);
    lplug_build_integer(b, i * 7);
  }
  for (i = 0; i < 300; i++) {
    snprintf(key, sizeof key, "k%d", i);
    lplug_build_string(b, key, strlen(key));
    lplug_build_table(b);
    lplug_build_end(b);
  }
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_int_equal(lplug_value_count(v, 0), 20300);
  assert_true(lplug_value_index(v, 0, 20000, &at));
  assert_int_equal(lplug_value_integer(v, at, NULL), 140000);
  assert_true(lplug_value_field(v, 0, "k299", &at));
  assert_int_equal(lplug_value_type(v, at), LPLUG_TTABLE);
  c = through_lua(v);
  assert_true(same(v, 0, c, 0));
  lplug_value_free(c);
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void value_builder_nests_past_its_inline_frames(void **state) {
  /* The first frames live in the builder, the rest in an allocation made
  ** when a value nests deeper: tables on both sides of that line, and
  ** their counts, come out whole, also from a reused builder. */
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  char want[1024];
  size_t n = 0;
  int i, round;
  char *json;
  (void)state;
  for (i = 0; i < 20; i++) n += (size_t)snprintf(want + n, sizeof want - n,
                                                 "[%d,", i);
  n += (size_t)snprintf(want + n, sizeof want - n, "{\"k\":\"v\"}");
  for (i = 0; i < 20; i++) n += (size_t)snprintf(want + n, sizeof want - n,
                                                 ",true]");
  for (round = 0; round < 2; round++) {
    for (i = 0; i < 20; i++) {               /* [i, <deeper>, true] */
      lplug_build_table(b);
      lplug_build_integer(b, 1);
      lplug_build_integer(b, i);
      lplug_build_integer(b, 2);
    }
    lplug_build_table(b);
    lplug_build_string(b, "k", 1);
    lplug_build_string(b, "v", 1);
    lplug_build_end(b);
    for (i = 0; i < 20; i++) {
      lplug_build_integer(b, 3);
      lplug_build_boolean(b, 1);
      lplug_build_end(b);
    }
    assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
    assert_int_equal(value_check(v->bytes, v->len), LPLUG_OK);
    json = lplug_value_to_json(v, NULL);
    assert_non_null(json);
    assert_string_equal(json, want);
    free(json);
  }
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void value_builder_reports_misuse_and_leaves_value_unchanged(
    void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  int i;
#define MISUSE(calls, code)                                              \
  do {                                                                   \
    calls;                                                               \
    assert_int_equal(lplug_builder_finish(b, v), code);                  \
    assert_int_equal(lplug_value_type(v, 0), LPLUG_TNIL);                \
  } while (0)
  MISUSE((void)0, LPLUG_EINVAL);                          /* nothing */
  MISUSE(lplug_build_table(b), LPLUG_EINVAL);             /* not closed */
  MISUSE(lplug_build_end(b), LPLUG_EINVAL);               /* no table */
  MISUSE((lplug_build_nil(b), lplug_build_nil(b)), LPLUG_EINVAL);
  MISUSE((lplug_build_table(b), lplug_build_nil(b)), LPLUG_EINVAL);
  MISUSE((lplug_build_table(b), lplug_build_float(b, NAN)), LPLUG_EINVAL);
  MISUSE((lplug_build_table(b), lplug_build_table(b)), LPLUG_EINVAL);
  MISUSE((lplug_build_table(b), lplug_build_string(b, "k", 1),
          lplug_build_end(b)), LPLUG_EINVAL);             /* key alone */
  MISUSE(lplug_build_string(b, NULL, 3), LPLUG_EINVAL);
  for (i = 0; i < LPLUG_MAX_DEPTH + 1; i++) {
    lplug_build_table(b);
    if (i < LPLUG_MAX_DEPTH) lplug_build_integer(b, 1);
  }
  MISUSE((void)0, LPLUG_EINVAL);                          /* too deep */
#undef MISUSE
  lplug_build_table(NULL);                   /* lplug_builder_new failed */
  lplug_build_string(NULL, "k", 1);
  lplug_build_float(NULL, 1.0);
  lplug_build_end(NULL);
  assert_int_equal(lplug_builder_finish(NULL, v), LPLUG_ENOMEM);
  for (i = 0; i < LPLUG_MAX_DEPTH; i++) {    /* the limit itself is fine */
    lplug_build_table(b);
    if (i < LPLUG_MAX_DEPTH - 1) lplug_build_integer(b, 1);
  }
  for (i = 0; i < LPLUG_MAX_DEPTH; i++) lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);  /* reset: reused */
  assert_int_equal(value_check(v->bytes, v->len), LPLUG_OK);
  lplug_builder_free(b);
  lplug_value_free(v);
}

/* Builds a table of the keys k0, k0+1, ... (n of them) and then `last`
** as one more key: the sort path of the duplicate check (more than a few
** keys). */
static int build_many_then(lplug_builder *b, lplug_value *v, int n,
                           long long k0, long long last) {
  int i;
  lplug_build_table(b);
  lplug_build_string(b, "s", 1);   /* a hash part before the integers */
  lplug_build_boolean(b, 1);
  for (i = 0; i < n; i++) {
    lplug_build_integer(b, k0 + i);
    lplug_build_integer(b, i);
  }
  lplug_build_integer(b, last);
  lplug_build_boolean(b, 0);
  lplug_build_end(b);
  return lplug_builder_finish(b, v);
}

/* A table holds each key once, as a Lua table does: the builder refuses
** a key given twice (misuse, like a nil key) and leaves the value as it
** was.  Whatever Lua would merge is one key: 5 and 5.0, and an index of
** the array part given again as a key. */
static void value_builder_refuses_a_key_given_twice(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
#define TWICE(k1, k2)                                                    \
  do {                                                                   \
    lplug_build_table(b);                                                \
    k1; lplug_build_integer(b, 1);                                       \
    lplug_build_string(b, "x", 1); lplug_build_integer(b, 2);            \
    k2; lplug_build_integer(b, 3);                                       \
    lplug_build_end(b);                                                  \
    assert_int_equal(lplug_builder_finish(b, v), LPLUG_EINVAL);          \
    assert_int_equal(lplug_value_type(v, 0), LPLUG_TNIL);                \
  } while (0)
  TWICE(lplug_build_string(b, "a", 1), lplug_build_string(b, "a", 1));
  TWICE(lplug_build_string(b, "a\0b", 3), lplug_build_string(b, "a\0b", 3));
  TWICE(lplug_build_integer(b, 5), lplug_build_integer(b, 5));
  TWICE(lplug_build_integer(b, -300), lplug_build_integer(b, -300));
  TWICE(lplug_build_integer(b, 5), lplug_build_float(b, 5.0));
  TWICE(lplug_build_float(b, 0.0), lplug_build_float(b, -0.0));
  TWICE(lplug_build_float(b, 1.5), lplug_build_float(b, 1.5));
  TWICE(lplug_build_float(b, INFINITY), lplug_build_float(b, INFINITY));
  TWICE(lplug_build_boolean(b, 1), lplug_build_boolean(b, 1));
  /* array index 1 (the first key), then key 1 in the hash part */
  TWICE(lplug_build_integer(b, 1), lplug_build_integer(b, 1));
  TWICE(lplug_build_integer(b, 1), lplug_build_float(b, 1.0));
#undef TWICE
  /* past a few keys the check sorts them */
  assert_int_equal(build_many_then(b, v, 40, 100, 120), LPLUG_EINVAL);
  assert_int_equal(build_many_then(b, v, 40, 100, 100), LPLUG_EINVAL);
  assert_int_equal(build_many_then(b, v, 40, 100, 139), LPLUG_EINVAL);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TNIL);
  assert_int_equal(build_many_then(b, v, 40, 100, 140), LPLUG_OK);
  assert_int_equal(lplug_value_count(v, 0), 42);
  /* in a nested table too */
  lplug_build_table(b);
  lplug_build_string(b, "in", 2);
  lplug_build_table(b);
  lplug_build_string(b, "k", 1); lplug_build_integer(b, 1);
  lplug_build_string(b, "k", 1); lplug_build_integer(b, 2);
  lplug_build_end(b);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_EINVAL);
  lplug_builder_free(b);
  lplug_value_free(v);
}

/* What is not one key twice stays allowed: keys that look alike, a key
** whose nil value dropped it given again, a key in the hash part at a
** hole of the array part. */
static void value_builder_accepts_keys_that_only_look_alike(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  size_t at;
  lplug_build_table(b);
  lplug_build_string(b, "path", 4); lplug_build_integer(b, 1);
  lplug_build_string(b, "port", 4); lplug_build_integer(b, 2);
  lplug_build_string(b, "1", 1);    lplug_build_integer(b, 3);
  lplug_build_integer(b, 10);       lplug_build_integer(b, 4);
  lplug_build_float(b, 10.5);       lplug_build_integer(b, 5);
  lplug_build_boolean(b, 1);        lplug_build_integer(b, 6);
  lplug_build_boolean(b, 0);        lplug_build_integer(b, 7);
  lplug_build_string(b, "gone", 4); lplug_build_nil(b);
  lplug_build_string(b, "gone", 4); lplug_build_integer(b, 8);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_int_equal(lplug_value_count(v, 0), 8);
  assert_true(lplug_value_field(v, 0, "gone", &at));
  assert_int_equal(lplug_value_integer(v, at, NULL), 8);
  lplug_build_table(b);                       /* {nil, x = 1, [1] = "b"} */
  lplug_build_integer(b, 1);        lplug_build_nil(b);
  lplug_build_string(b, "x", 1);    lplug_build_integer(b, 1);
  lplug_build_integer(b, 1);        lplug_build_string(b, "b", 1);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_int_equal(lplug_value_count(v, 0), 2);
  assert_true(lplug_value_index(v, 0, 1, &at));
  assert_string_equal(lplug_value_string(v, at, NULL), "b");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void value_internals_swap_release_and_set_nil(void **state) {
  lplug_value a = {0, 0, 0}, b = {0, 0, 0};
  value_set_nil(&a);                         /* allocates when empty */
  assert_int_equal(a.len, 1);
  assert_int_equal(value_reserve(&b, 100), LPLUG_OK);
  assert_true(b.cap >= 100);
  value_swap(&a, &b);
  assert_int_equal(b.len, 1);
  assert_int_equal(a.len, 0);
  value_release(&a);
  value_release(&b);
  assert_null(b.bytes);
}

/* A value reused for many values keeps a small buffer (no allocation for
** the next small value) but gives a big one back. */
static void value_set_nil_gives_back_only_a_big_buffer(void **state) {
  lplug_value a = {0, 0, 0};
  unsigned char *small;
  value_set_nil(&a);
  small = a.bytes;
  value_set_nil(&a);
  assert_ptr_equal(a.bytes, small);          /* kept */
  assert_int_equal(value_reserve(&a, 4 * 1024 * 1024), LPLUG_OK);
  a.len = 3 * 1024 * 1024;                   /* as if a big value was here */
  value_set_nil(&a);
  assert_int_equal(a.len, 1);
  assert_int_equal(lplug_value_type(&a, 0), LPLUG_TNIL);
  assert_true(a.cap <= VALUE_KEEP);
  assert_int_equal(value_reserve(&a, 1024 * 1024), LPLUG_OK);
  a.len = 100;                               /* trim keeps what is used */
  value_trim(&a);
  assert_true(a.cap >= 100 && a.cap <= VALUE_KEEP);
  value_release(&a);
}

/* A plugin's scratch value grows up to the value limit (4x the memory
** limit) while json.encode copies a value in; after a refusal or a
** success the host keeps no more than VALUE_KEEP bytes of it. */
static void value_plugin_scratch_is_bounded_after_a_big_value(void **state) {
  support_log log;
  lplug_engine *e = support_engine(&log, 1024 * 1024, 0);
  char *root = support_tmpdir(), *dir;
  plugin *p;
  dir = support_plugin(root, "big",
    "name: big\nversion: 1.0.0\ncapabilities:\n  json: {}\n",
    "local json = require('lplug.json')\n"
    "local s = string.rep('x', 100000)\n"
    "local t = {}\n"
    "for i = 1, 5 do t[i] = s end\n"
    "assert(#json.encode(t) > 500000)\n"          /* taken: 500 KB */
    "for i = 6, 100 do t[i] = s end\n"
    "assert(not pcall(json.encode, t))\n");       /* 10 MB refused at 4 */
  assert_int_equal(lplug_load_plugin(e, dir), LPLUG_OK);
  p = engine_find_plugin(e, "big", NULL);
  assert_non_null(p);
  assert_true(plugin_scratch(p)->cap <= VALUE_KEEP);
  lplug_engine_free(e);
  support_rmtree(root);
  free(root);
  free(dir);
}

/* }====================================================== */


/*
** {======================================================
** Untrusted bytes
** =======================================================
*/

static int check_hex(const char *hex) {
  unsigned char buf[256];
  size_t n = 0;
  unsigned x;
  int used;
  lplug_value *v;
  int rc;
  while (sscanf(hex, " %2x%n", &x, &used) == 1) {
    buf[n++] = (unsigned char)x;
    hex += used;
  }
  rc = lplug_value_from_bytes(buf, n, &v);
  assert_true(rc == LPLUG_OK ? v != NULL : v == NULL);
  lplug_value_free(v);
  return rc;
}

static void value_from_bytes_accepts_what_lplug_value_bytes_gives(
    void **state) {
  lplug_value *v = sample(), *w;
  size_t n;
  const void *p = lplug_value_bytes(v, &n);
  assert_int_equal(lplug_value_from_bytes(p, n, &w), LPLUG_OK);
  assert_true(same(v, 0, w, 0));
  lplug_value_free(w);
  lplug_value_free(v);
  assert_int_equal(check_hex("06 08 00 00 00 01 01 8a 05 01 78 00 02"),
                   LPLUG_OK);
}

/* NULL arguments are refused, never dereferenced: a host passing the
** result of a failed call on must get a code back, not a crash. */
static void value_null_arguments_are_refused_not_dereferenced(void **state) {
  lplug_value *v = sample(), *w = (lplug_value *)&w;
  size_t n = 99, it = 0, k, x;
  const void *p = lplug_value_bytes(v, &n);
  assert_null(lplug_value_bytes(NULL, &n));
  assert_int_equal(n, 0);
  assert_int_equal(lplug_value_from_bytes(p, 1, NULL), LPLUG_EINVAL);
  assert_int_equal(lplug_value_from_bytes(NULL, 5, &w), LPLUG_EINVAL);
  assert_null(w);
  assert_int_equal(lplug_value_from_bytes(NULL, 0, &w), LPLUG_EINVAL);
  assert_int_equal(lplug_value_from_json(NULL, "1", 1, NULL), LPLUG_EINVAL);
  /* a table with keys, so that only the NULL stops the reader */
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TTABLE);
  assert_int_equal(lplug_value_next(v, 0, NULL, &k, &x), 0);
  assert_int_equal(lplug_value_next(v, 0, &it, NULL, &x), 0);
  assert_int_equal(lplug_value_next(v, 0, &it, &k, NULL), 0);
  assert_true(lplug_value_next(v, 0, &it, &k, &x));
  assert_int_equal(lplug_value_field(v, 0, "name", NULL), 0);
  assert_int_equal(lplug_value_index(v, 0, 1, NULL), 0);
  lplug_value_free(v);
}

static void value_check_refuses_truncated_table(void **state) {
  lplug_value *v = sample(), *w;
  size_t n, i;
  const unsigned char *p = lplug_value_bytes(v, &n);
  for (i = 0; i < n; i++) {
    lplug_value cut = exact(p, i);
    assert_int_equal(value_check(cut.bytes, i), LPLUG_EPARSE);
    assert_int_equal(lplug_value_from_bytes(cut.bytes, i, &w), LPLUG_EPARSE);
    assert_null(w);
    value_release(&cut);
  }
  lplug_value_free(v);
}

static void value_check_refuses_malformed_encodings(void **state) {
  assert_int_equal(check_hex(""), LPLUG_EPARSE);             /* empty */
  assert_int_equal(check_hex("07"), LPLUG_EPARSE);           /* bad tags */
  assert_int_equal(check_hex("7f"), LPLUG_EPARSE);
  assert_int_equal(check_hex("00 00"), LPLUG_EPARSE);        /* extra byte */
  assert_int_equal(check_hex("05 03 61 62 63 01"), LPLUG_EPARSE);  /* NUL */
  assert_int_equal(check_hex("05 03 61 62 63 00"), LPLUG_OK);
  assert_int_equal(check_hex("04 00 00 00"), LPLUG_EPARSE);  /* short */
  assert_int_equal(check_hex("03 ff ff ff ff ff ff ff ff ff 01"), LPLUG_OK);
  assert_int_equal(check_hex("03 ff ff ff ff ff ff ff ff ff 02"),
                   LPLUG_EPARSE);                            /* > 64 bits */
  assert_int_equal(check_hex("03 80 80 80 80 80 80 80 80 80 80 00"),
                   LPLUG_EPARSE);                            /* 11 bytes */
  /* counts that promise more entries than there are */
  assert_int_equal(check_hex("06 03 00 00 00 02 00 81"), LPLUG_EPARSE);
  assert_int_equal(check_hex("06 08 00 00 00 01 ff ff ff ff 0f 81 00"),
                   LPLUG_EPARSE);
  /* table lengths that lie, both ways */
  assert_int_equal(check_hex("06 04 00 00 00 01 00 81"), LPLUG_EPARSE);
  assert_int_equal(check_hex("06 02 00 00 00 01 00 81"), LPLUG_EPARSE);
  assert_int_equal(check_hex("06 ff ff ff ff 00 00"), LPLUG_EPARSE);
  /* keys: nil, NaN, a table; a nil value is read as absent */
  assert_int_equal(check_hex("06 04 00 00 00 00 01 00 81"), LPLUG_EPARSE);
  assert_int_equal(check_hex("06 0c 00 00 00 00 01 04 00 00 00 00 00 00 f8 "
                             "7f 81"), LPLUG_EPARSE);
  assert_int_equal(check_hex("06 0a 00 00 00 00 01 06 02 00 00 00 00 00 "
                             "81"), LPLUG_EPARSE);
  assert_int_equal(check_hex("06 0c 00 00 00 00 01 04 00 00 00 00 00 00 f8 "
                             "3f 81"), LPLUG_OK);            /* key 1.5 */
  assert_int_equal(check_hex("06 04 00 00 00 00 01 81 00"), LPLUG_OK);
}

/* Bytes from outside may not hold one key twice either (Lua would keep
** one of them; the JSON text would hold both): two equal hash keys, keys
** Lua merges (1, 1.0 and an overlong 1; 0 and -0.0), or a key that
** repeats an index of the array part.  Found by fuzz_value: the bytes
** below were accepted and their JSON text wrote the key "1" twice. */
static void value_from_bytes_refuses_a_key_held_twice(void **state) {
  unsigned char big[512];
  size_t n;
  int i, dup;
  lplug_value *w;
  /* {10, 3, nil, [true] = "\0\x19n", [1] = "neg"} */
  assert_int_equal(check_hex("06 14 00 00 00 03 02 8a 83 00 02 05 03 00 19 "
                             "6e 00 03 02 05 03 6e 65 67 00"), LPLUG_EPARSE);
  assert_int_equal(check_hex("06 0c 00 00 00 00 02 05 01 61 00 81 "
                             "05 01 61 00 82"), LPLUG_EPARSE);   /* a, a */
  assert_int_equal(check_hex("06 0e 00 00 00 00 02 81 82 "
                             "04 00 00 00 00 00 00 f0 3f 83"),
                   LPLUG_EPARSE);                             /* 1, 1.0 */
  assert_int_equal(check_hex("06 0e 00 00 00 00 02 80 82 "
                             "04 00 00 00 00 00 00 00 80 83"),
                   LPLUG_EPARSE);                             /* 0, -0.0 */
  assert_int_equal(check_hex("06 08 00 00 00 00 02 81 82 03 82 00 83"),
                   LPLUG_EPARSE);                    /* 1, 1 overlong */
  assert_int_equal(check_hex("06 08 00 00 00 00 02 02 81 02 82"),
                   LPLUG_EPARSE);                    /* true, true */
  assert_int_equal(check_hex("06 05 00 00 00 01 01 83 81 82"),
                   LPLUG_EPARSE);                    /* {3, [1] = 2} */
  assert_int_equal(check_hex("06 0c 00 00 00 00 01 01 01 06 08 00 00 00 00 "
                             "02 81 82 81 83"), LPLUG_EPARSE);   /* nested */
  /* not twice: a nil value is no entry, a hole is no index */
  assert_int_equal(check_hex("06 0c 00 00 00 00 02 05 01 61 00 00 "
                             "05 01 61 00 82"), LPLUG_OK);
  assert_int_equal(check_hex("06 05 00 00 00 01 01 00 81 82"), LPLUG_OK);
  assert_int_equal(check_hex("06 0e 00 00 00 00 02 81 82 "
                             "04 00 00 00 00 00 00 f8 3f 83"), LPLUG_OK);
  /* more than a few keys: sorted; the key twice anywhere among them */
  for (dup = -1; dup < 40; dup += 13) {
    n = 0;
    big[n++] = VALUE_TABLE;
    n += 4;
    big[n++] = 1;                             /* narr: {7, ...} */
    big[n++] = 41;                            /* nhash */
    big[n++] = 0x87;
    for (i = 0; i < 40; i++) {
      big[n++] = (unsigned char)(0x80 | (i + 2));  /* keys 2..41 */
      big[n++] = 0x81;
    }
    big[n++] = (unsigned char)(0x80 | (dup < 0 ? 42 : dup + 2));
    big[n++] = 0x81;
    big[1] = (unsigned char)(n - 5);
    big[2] = big[3] = big[4] = 0;
    assert_int_equal(lplug_value_from_bytes(big, n, &w),
                     dup < 0 ? LPLUG_OK : LPLUG_EPARSE);
    lplug_value_free(w);
  }
  big[n - 2] = 0x81;                          /* key 1: the array's index */
  assert_int_equal(value_check(big, n), LPLUG_EPARSE);
}

static void value_check_refuses_too_deep(void **state) {
  unsigned char buf[7 * (LPLUG_MAX_DEPTH + 1)];
  int depth;
  for (depth = LPLUG_MAX_DEPTH; depth <= LPLUG_MAX_DEPTH + 1; depth++) {
    size_t n = 7 * (size_t)depth, i;
    /* depth tables, each {child} but the innermost {} */
    for (i = 0; i < (size_t)depth; i++) {
      unsigned char *p = buf + 7 * i;
      uint32_t len = (uint32_t)(n - 7 * i - 5);
      p[0] = VALUE_TABLE;
      p[1] = (unsigned char)len; p[2] = (unsigned char)(len >> 8);
      p[3] = p[4] = 0;
      p[5] = i + 1 < (size_t)depth; p[6] = 0;
    }
    assert_int_equal(value_check(buf, n),
                     depth > LPLUG_MAX_DEPTH ? LPLUG_EPARSE : LPLUG_OK);
  }
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (unsigned)(rng >> 32);
}

/* Every reader at every position: they trust well-formed values for
** their answers but never read outside the buffer, whatever it holds. */
static void read_everywhere(const lplug_value *v) {
  size_t at, it, k, x, n;
  for (at = 0; at <= v->len + 1; at++) {
    it = 0;
    lplug_value_type(v, at);
    lplug_value_integer(v, at, NULL);
    lplug_value_float(v, at, NULL);
    if (lplug_value_string(v, at, &n) != NULL)  /* a C string, always */
      assert_int_equal(lplug_value_string(v, at, NULL)[n], '\0');
    lplug_value_field(v, at, "a", &x);
    lplug_value_index(v, at, 1, &x);
    lplug_value_count(v, at);
    while (lplug_value_next(v, at, &it, &k, &x)) lplug_value_type(v, k);
  }
}

/* What a checked buffer is used for: a copy into a Lua state, JSON. */
static void exercise(lua_State *L, const lplug_value *v) {
  size_t n;
  char *json;
  read_everywhere(v);
  lua_pushcfunction(L, push_arg);
  lua_pushlightuserdata(L, (void *)v);
  assert_int_equal(lua_pcall(L, 1, 0, 0), LUA_OK);
  errno = 0;
  json = json_encode(v, 0, (size_t)-1, &n);
  /* NULL only for what JSON cannot hold: NaN, bytes that are not UTF-8 */
  if (json == NULL) assert_int_equal(errno, EINVAL);
  free(json);
}

static void value_check_survives_random_garbage_and_mutations(void **state) {
  lua_State *L = luaL_newstate();
  lplug_value *base = sample();
  unsigned char buf[96];
  int round, accepted = 0;
  for (round = 0; round < 20000; round++) {
    size_t n, i;
    lplug_value v;
    if (round % 2) {                         /* a mutated valid encoding */
      n = base->len;
      memcpy(buf, base->bytes, n);
      for (i = 1 + rnd() % 3; i > 0; i--) buf[rnd() % n] = (unsigned char)rnd();
      if (rnd() % 4 == 0) n = rnd() % n;
    } else {                                 /* garbage, tags made likely */
      n = rnd() % sizeof buf;
      for (i = 0; i < n; i++)
        buf[i] = (unsigned char)(rnd() % 3 ? rnd() % 8 : rnd());
    }
    v = exact(buf, n);
    if (value_check(v.bytes, n) == LPLUG_OK) {
      accepted++;
      exercise(L, &v);
    } else {
      read_everywhere(&v);
    }
    value_release(&v);
  }
  assert_true(accepted > 1000);              /* the fuzz reached the readers */
  lplug_value_free(base);
  lua_close(L);
}

/* An offset inside a float whose bytes read as "a string of 2 bytes":
** without its NUL it is not one, and a host using it as a C string ran
** off the value. */
static void value_string_is_read_only_where_one_ends_in_nul(void **state) {
  unsigned long long u = 0x4033330205111111ull;  /* 11 11 11 05 02 33 33 40 */
  double f;
  char pad[37];
  size_t at, n;
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  (void)state;
  memcpy(&f, &u, sizeof f);
  memset(pad, 'x', sizeof pad);
  lplug_build_table(b);
  lplug_build_string(b, "s", 1);
  lplug_build_string(b, pad, sizeof pad);
  lplug_build_string(b, "f", 1);
  lplug_build_float(b, f);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_true(lplug_value_field(v, 0, "f", &at));
  assert_null(lplug_value_string(v, at + 4, &n));
  assert_true(lplug_value_field(v, 0, "s", &at));
  assert_non_null(lplug_value_string(v, at, &n));
  assert_int_equal(n, sizeof pad);
  lplug_value_free(v);
  lplug_builder_free(b);
}

static void value_readers_stay_in_bounds_at_any_position(void **state) {
  lua_State *L = luaL_newstate();
  lplug_value *s = sample();
  lplug_value v = exact(s->bytes, s->len);
  exercise(L, &v);
  value_release(&v);
  lplug_value_free(s);
  lua_close(L);
}

/* }====================================================== */


/*
** {======================================================
** Lua
** =======================================================
*/

static void value_roundtrip_every_type_through_lua(void **state) {
  char err[256];
  lplug_value *v = lplug_value_new(), *back;
  assert_int_equal(from_lua(
    "return {1, 2.5, 'three', true, false, {nested = {deeper = 'yes'}},\n"
    "  s = 'a\\0b', lo = math.mininteger, hi = math.maxinteger,\n"
    "  negzero = -0.0, inf = math.huge, nan = 0/0, empty = {},\n"
    "  [1.5] = 'float key', [true] = 'boolean key', [-7] = 'negative'}",
    v, NOLIMIT, err, sizeof err), LPLUG_OK);
  check_in_lua(v,
    "local v = ...\n"
    "return v[1] == 1 and math.type(v[1]) == 'integer'\n"
    "  and v[2] == 2.5 and v[3] == 'three' and v[4] == true\n"
    "  and v[5] == false and v[6].nested.deeper == 'yes' and #v == 6\n"
    "  and v.s == 'a\\0b' and v.lo == math.mininteger\n"
    "  and v.hi == math.maxinteger and math.type(v.negzero) == 'float'\n"
    "  and 1 / v.negzero == -math.huge and v.inf == math.huge\n"
    "  and v.nan ~= v.nan and next(v.empty) == nil\n"
    "  and v[1.5] == 'float key' and v[true] == 'boolean key'\n"
    "  and v[-7] == 'negative'");
  back = through_lua(v);
  assert_true(same(v, 0, back, 0));
  lplug_value_free(back);
  back = sample();                           /* and a built value */
  lplug_value_free(v);
  v = through_lua(back);
  assert_true(same(v, 0, back, 0));
  lplug_value_free(back);
  lplug_value_free(v);
}

static void value_from_lua_writes_the_same_bytes_as_the_builder(
    void **state) {
  char err[256];
  lplug_value *v = lplug_value_new();
  assert_int_equal(from_lua("return {10, x = true}", v, NOLIMIT, err,
                            sizeof err), LPLUG_OK);
  assert_bytes(v, "06 08 00 00 00 01 01 8a 05 01 78 00 02");
  lplug_value_free(v);
}

static void value_from_lua_keeps_holes_of_the_array_part(void **state) {
  char err[256];
  lplug_value *v = lplug_value_new();
  assert_int_equal(from_lua("return {1, nil, 3}", v, NOLIMIT, err,
                            sizeof err), LPLUG_OK);
  assert_bytes(v, "06 05 00 00 00 03 00 81 00 83");
  check_in_lua(v, "local v = ... return v[1] == 1 and v[2] == nil "
                  "and v[3] == 3");
  lplug_value_free(v);
}

static void value_from_lua_widens_counts_of_big_hash_parts(void **state) {
  char err[256];
  lplug_value *v = lplug_value_new(), *back;
  size_t at;
  assert_int_equal(from_lua(
    "local t = {} for i = 1, 1000 do t['k' .. i] = {i} end return t",
    v, NOLIMIT, err, sizeof err), LPLUG_OK);
  assert_int_equal(value_check(v->bytes, v->len), LPLUG_OK);
  assert_int_equal(lplug_value_count(v, 0), 1000);
  assert_true(lplug_value_field(v, 0, "k432", &at));
  assert_true(lplug_value_index(v, at, 1, &at));
  assert_int_equal(lplug_value_integer(v, at, NULL), 432);
  back = through_lua(v);
  assert_true(same(v, 0, back, 0));
  lplug_value_free(back);
  lplug_value_free(v);
}

static void value_from_lua_does_not_expand_sparse_arrays(void **state) {
  char err[256];
  lplug_value *v = lplug_value_new();
  size_t at;
  /* #t is 2^26 + 1 here, for 53 keys: written as they are, not as 64 MB
  ** of holes */
  assert_int_equal(from_lua(
    "local t = {1, 2, 3, 4}\n"
    "for k = 2, 26 do t[(1 << k) + 1] = k; t[1 << k] = k end\n"
    "assert(#t == (1 << 26) + 1)\n"
    "return t", v, NOLIMIT, err, sizeof err), LPLUG_OK);
  assert_int_equal(lplug_value_count(v, 0), 53);
  assert_true(v->len < 1000);
  assert_true(lplug_value_index(v, 0, (1 << 26) + 1, &at));
  assert_int_equal(lplug_value_integer(v, at, NULL), 26);
  check_in_lua(v, "local t = ... return t[3] == 3 and t[1 << 20] == 20");
  lplug_value_free(v);
}

static void value_from_lua_refuses_function_with_path(void **state) {
  expect_refusal("return {meta = {fn = print}}", LPLUG_EVALUE,
    "value.meta.fn is a function (only nil, booleans, numbers, strings "
    "and tables can leave a plugin)");
  expect_refusal("return print", LPLUG_EVALUE,
    "value is a function (only nil, booleans, numbers, strings and tables "
    "can leave a plugin)");
}

static void value_from_lua_refuses_userdata_and_threads(void **state) {
  expect_refusal("return {1, 2, coroutine.create(print)}", LPLUG_EVALUE,
    "value[3] is a thread (only nil, booleans, numbers, strings and tables "
    "can leave a plugin)");
  expect_refusal("return {['a b'] = {io.stdout}}", LPLUG_EVALUE,
    "value[\"a b\"][1] is a userdata (only nil, booleans, numbers, strings "
    "and tables can leave a plugin)");
}

static void value_from_lua_names_every_kind_of_key(void **state) {
  static const char *const cases[][2] = {
    {"return {[10] = print}", "value[10]"},
    {"return {[-2] = print}", "value[-2]"},
    {"return {[1.5] = print}", "value[1.5]"},
    {"return {[true] = print}", "value[true]"},
    {"return {['say \"hi\"'] = print}", "value[\"say \\\"hi\\\"\"]"},
    {"return {['1st'] = print}", "value[\"1st\"]"},
    {"return {[string.rep('x', 50)] = print}",
     "value[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"]"},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char want[256];
    snprintf(want, sizeof want, "%s is a function (only nil, booleans, "
             "numbers, strings and tables can leave a plugin)", cases[i][1]);
    expect_refusal(cases[i][0], LPLUG_EVALUE, want);
  }
}

static void value_from_lua_refuses_cycles_with_path(void **state) {
  expect_refusal("local t = {a = {}} t.a.b = t.a return t", LPLUG_EVALUE,
                 "value.a.b is a cycle back to value.a");
  expect_refusal("local t = {} t[1] = t return t", LPLUG_EVALUE,
                 "value[1] is a cycle back to value");
}

static void value_from_lua_copies_a_table_shared_off_the_path(void **state) {
  char err[256];
  lplug_value *v = lplug_value_new();
  assert_int_equal(from_lua("local s = {1} return {a = s, b = s}", v,
                            NOLIMIT, err, sizeof err), LPLUG_OK);
  check_in_lua(v, "local v = ... return v.a[1] == 1 and v.b[1] == 1 "
                  "and v.a ~= v.b");
  lplug_value_free(v);
}

static void value_from_lua_refuses_keys_that_are_not_scalars(void **state) {
  expect_refusal("return {x = {[{}] = 1}}", LPLUG_EVALUE,
    "value.x has a table as a key (only booleans, numbers and strings can "
    "be keys)");
  expect_refusal("return {[print] = 1}", LPLUG_EVALUE,
    "value has a function as a key (only booleans, numbers and strings "
    "can be keys)");
}

static void value_from_lua_refuses_nesting_past_the_limit(void **state) {
  char err[1024], chunk[128];
  lplug_value *v = lplug_value_new();
  snprintf(chunk, sizeof chunk, "local t = {} for i = 2, %d do t = {a = t} "
           "end return t", LPLUG_MAX_DEPTH);
  assert_int_equal(from_lua(chunk, v, NOLIMIT, err, sizeof err), LPLUG_OK);
  snprintf(chunk, sizeof chunk, "local t = {} for i = 2, %d do t = {a = t} "
           "end return t", LPLUG_MAX_DEPTH + 1);
  assert_int_equal(from_lua(chunk, v, NOLIMIT, err, sizeof err),
                   LPLUG_EVALUE);
  assert_memory_equal(err, "value.a.a.a.a", 13);
  assert_non_null(strstr(err, ".a.a is nested more than 100 tables deep"));
  assert_int_equal(strlen(err), strlen("value") + 2 * LPLUG_MAX_DEPTH +
                   strlen(" is nested more than 100 tables deep"));
  lplug_value_free(v);
}

static void value_from_lua_refuses_output_past_max_bytes(void **state) {
  const char *chunk = "return {s = string.rep('x', 100)}";
  char err[256];
  lplug_value *v = lplug_value_new();
  assert_int_equal(from_lua(chunk, v, NOLIMIT, err, sizeof err), LPLUG_OK);
  assert_int_equal(v->len, 114);
  assert_int_equal(from_lua(chunk, v, 114, err, sizeof err), LPLUG_OK);
  assert_int_equal(from_lua(chunk, v, 113, err, sizeof err), LPLUG_EVALUE);
  assert_string_equal(err, "value.s makes the value larger than 113 bytes");
  assert_int_equal(v->len, 114);             /* the old value is kept */
  /* a table copied many times over stays bounded by max_bytes too */
  assert_int_equal(from_lua(
    "local t = {} for i = 1, 60 do t = {t, t} end return t",
    v, 1 << 20, err, sizeof err), LPLUG_EVALUE);
  assert_non_null(strstr(err, " makes the value larger than 1048576 bytes"));
  lplug_value_free(v);
}

static void value_from_lua_leaves_out_unchanged_on_failure(void **state) {
  char err[256];
  lplug_value *v = lplug_value_new();
  assert_int_equal(from_lua("return 'old'", v, NOLIMIT, err, sizeof err),
                   LPLUG_OK);
  assert_int_equal(from_lua("return {1, 2, {print}}", v, NOLIMIT, err,
                            sizeof err), LPLUG_EVALUE);
  assert_string_equal(lplug_value_string(v, 0, NULL), "old");
  assert_int_equal(from_lua("return {1, 2, print}", v, NOLIMIT, NULL, 0),
                   LPLUG_EVALUE);            /* no message buffer: fine */
  assert_int_equal(from_lua("return 'new'", v, NOLIMIT, err, sizeof err),
                   LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "new");
  assert_int_equal(v->len, 6);             /* 05 03 'n' 'e' 'w' 00 */
  lplug_value_free(v);
}

static void value_from_lua_reads_tables_raw_ignoring_metamethods(
    void **state) {
  char err[256];
  lplug_value *v = lplug_value_new();
  size_t at;
  assert_int_equal(from_lua(
    "local mt = {}\n"
    "for _, name in ipairs{'__index', '__newindex', '__len', '__pairs',\n"
    "    '__tostring', '__eq', '__call', '__concat', '__name'} do\n"
    "  mt[name] = function() ran = true error('metamethod ran') end\n"
    "end\n"
    "mt.__metatable = 'locked'\n"
    "return setmetatable({1, 2, x = setmetatable({}, mt)}, mt)",
    v, NOLIMIT, err, sizeof err), LPLUG_OK);
  assert_int_equal(lplug_value_count(v, 0), 3);
  assert_true(lplug_value_field(v, 0, "x", &at));
  assert_int_equal(lplug_value_count(v, at), 0);
  lplug_value_free(v);
}

static void value_from_lua_never_runs_a_looping_tostring(void **state) {
  char err[256];
  lplug_value *v = lplug_value_new();
  assert_int_equal(from_lua(
    "return setmetatable({msg = 'boom'},\n"
    "  {__tostring = function() ran = true while true do end end})",
    v, NOLIMIT, err, sizeof err), LPLUG_OK);
  assert_string_equal(field_string(v, "msg"), "boom");
  expect_refusal(
    "return setmetatable({fn = print},\n"
    "  {__tostring = function() ran = true while true do end end})",
    LPLUG_EVALUE, "value.fn is a function (only nil, booleans, numbers, "
    "strings and tables can leave a plugin)");
  lplug_value_free(v);
}

static int refuse;

/* Refuses every allocation that grows once `refuse` is set. */
static void *refusing_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (refuse && (ptr == NULL || nsize > osize)) return NULL;
  return realloc(ptr, nsize);
}

static void value_from_lua_works_when_the_state_cannot_allocate(
    void **state) {
  lua_State *L = lua_newstate(refusing_alloc, NULL);
  lplug_value *v = lplug_value_new();
  char err[512];
  luaL_openlibs(L);
  assert_int_equal(luaL_dostring(L,
    "shallow = {a = {1, 2, 'x'}, b = 2.5}\n"
    "deep = {} for i = 1, 90 do deep = {deep} end"), LUA_OK);
  lua_getglobal(L, "shallow");
  lua_getglobal(L, "deep");
  refuse = 1;
  assert_int_equal(value_from_lua(L, -2, v, "value", NOLIMIT, err,
                                  sizeof err), LPLUG_OK);
  assert_int_equal(value_from_lua(L, -1, v, "value", NOLIMIT, err,
                                  sizeof err), LPLUG_ENOMEM);
  assert_memory_equal(err, "out of memory while copying value[1][1]", 39);
  assert_int_equal(lua_gettop(L), 2);
  refuse = 0;
  assert_int_equal(lplug_value_count(v, 0), 2);
  lua_close(L);
  lplug_value_free(v);
}

static void value_push_lua_skips_nil_values_from_bytes(void **state) {
  static const unsigned char bytes[] = {6, 6, 0, 0, 0, 2, 1, 0, 0x82, 0x81, 0};
  lplug_value *v;
  assert_int_equal(lplug_value_from_bytes(bytes, sizeof bytes, &v),
                   LPLUG_OK);
  assert_int_equal(lplug_value_count(v, 0), 1);     /* {nil, 2, [1] = nil} */
  check_in_lua(v, "local v = ... return v[1] == nil and v[2] == 2 "
                  "and next(v, next(v)) == nil");
  lplug_value_free(v);
}

/* }====================================================== */

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(value_new_holds_nil),
    cmocka_unit_test(value_encoding_is_compact_and_documented),
    cmocka_unit_test(value_roundtrip_scalars),
    cmocka_unit_test(value_numbers_read_each_other_only_when_exact),
    cmocka_unit_test(value_roundtrip_nested_table),
    cmocka_unit_test(
      value_builder_puts_leading_integer_keys_in_the_array_part),
    cmocka_unit_test(value_roundtrip_big_tables),
    cmocka_unit_test(value_builder_nests_past_its_inline_frames),
    cmocka_unit_test(value_builder_reports_misuse_and_leaves_value_unchanged),
    cmocka_unit_test(value_builder_refuses_a_key_given_twice),
    cmocka_unit_test(value_builder_accepts_keys_that_only_look_alike),
    cmocka_unit_test(value_internals_swap_release_and_set_nil),
    cmocka_unit_test(value_set_nil_gives_back_only_a_big_buffer),
    cmocka_unit_test(value_plugin_scratch_is_bounded_after_a_big_value),
    cmocka_unit_test(value_from_bytes_accepts_what_lplug_value_bytes_gives),
    cmocka_unit_test(value_null_arguments_are_refused_not_dereferenced),
    cmocka_unit_test(value_check_refuses_truncated_table),
    cmocka_unit_test(value_check_refuses_malformed_encodings),
    cmocka_unit_test(value_from_bytes_refuses_a_key_held_twice),
    cmocka_unit_test(value_check_refuses_too_deep),
    cmocka_unit_test(value_check_survives_random_garbage_and_mutations),
    cmocka_unit_test(value_readers_stay_in_bounds_at_any_position),
    cmocka_unit_test(value_string_is_read_only_where_one_ends_in_nul),
    cmocka_unit_test(value_roundtrip_every_type_through_lua),
    cmocka_unit_test(value_from_lua_writes_the_same_bytes_as_the_builder),
    cmocka_unit_test(value_from_lua_keeps_holes_of_the_array_part),
    cmocka_unit_test(value_from_lua_widens_counts_of_big_hash_parts),
    cmocka_unit_test(value_from_lua_does_not_expand_sparse_arrays),
    cmocka_unit_test(value_from_lua_refuses_function_with_path),
    cmocka_unit_test(value_from_lua_refuses_userdata_and_threads),
    cmocka_unit_test(value_from_lua_names_every_kind_of_key),
    cmocka_unit_test(value_from_lua_refuses_cycles_with_path),
    cmocka_unit_test(value_from_lua_copies_a_table_shared_off_the_path),
    cmocka_unit_test(value_from_lua_refuses_keys_that_are_not_scalars),
    cmocka_unit_test(value_from_lua_refuses_nesting_past_the_limit),
    cmocka_unit_test(value_from_lua_refuses_output_past_max_bytes),
    cmocka_unit_test(value_from_lua_leaves_out_unchanged_on_failure),
    cmocka_unit_test(value_from_lua_reads_tables_raw_ignoring_metamethods),
    cmocka_unit_test(value_from_lua_never_runs_a_looping_tostring),
    cmocka_unit_test(value_from_lua_works_when_the_state_cannot_allocate),
    cmocka_unit_test(value_push_lua_skips_nil_values_from_bytes),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
