/*
** test_json.c -- JSON text to values and back: what each JSON construct
** becomes, errors that name line and column, and how tables are written.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/json.h"

/*
** {======================================================
** Helpers
** =======================================================
*/

static lplug_value *decode(const char *json) {
  char err[256];
  lplug_value *v = lplug_value_new();
  int rc = json_decode(json, strlen(json), v, err, sizeof err);
  if (rc != LPLUG_OK) fail_msg("%s: %s", json, err);
  return v;
}

/* Decodes `len` bytes from an exact-size copy (so ASan sees overreads). */
static int decode_exact(const char *json, size_t len, lplug_value *v,
                        char *err, size_t errsize) {
  char *copy = malloc(len ? len : 1);
  int rc;
  memcpy(copy, json, len);
  rc = json_decode(copy, len, v, err, errsize);
  free(copy);
  return rc;
}

static void expect_error_n(const char *json, size_t len, const char *msg) {
  char err[256];
  lplug_value *v = lplug_value_new();
  assert_int_equal(decode_exact(json, len, v, err, sizeof err),
                   LPLUG_EPARSE);
  assert_string_equal(err, msg);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TNIL);   /* unchanged */
  lplug_value_free(v);
}

static void expect_error(const char *json, const char *msg) {
  expect_error_n(json, strlen(json), msg);
}

static void expect_json(const lplug_value *v, const char *want) {
  size_t n;
  char *s = json_encode(v, 0, (size_t)-1, &n);
  assert_non_null(s);
  assert_string_equal(s, want);
  assert_int_equal(n, strlen(want));
  free(s);
}

/* Text -> value -> text gives the same text back. */
static void expect_roundtrip(const char *json) {
  lplug_value *v = decode(json);
  expect_json(v, json);
  lplug_value_free(v);
}

static lplug_value *float_value(double d) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_float(b, d);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  lplug_builder_free(b);
  return v;
}

static size_t field(const lplug_value *v, size_t at, const char *key) {
  size_t out;
  if (!lplug_value_field(v, at, key, &out)) fail_msg("no field %s", key);
  return out;
}

/* Same value, table order aside (JSON objects keep insertion order, so
** comparing in order is enough here). */
static int same(const lplug_value *a, size_t pa, const lplug_value *b,
                size_t pb) {
  size_t la, lb, ia = 0, ib = 0, ka, kb, xa, xb;
  const char *sa, *sb;
  double fa, fb;
  int t = lplug_value_type(a, pa), more;
  if (t != lplug_value_type(b, pb)) return 0;
  switch (t) {
    case LPLUG_TBOOLEAN:
      return lplug_value_boolean(a, pa) == lplug_value_boolean(b, pb);
    case LPLUG_TINTEGER:
      return lplug_value_integer(a, pa, NULL) ==
             lplug_value_integer(b, pb, NULL);
    case LPLUG_TFLOAT:
      fa = lplug_value_float(a, pa, NULL);
      fb = lplug_value_float(b, pb, NULL);
      return memcmp(&fa, &fb, sizeof fa) == 0;
    case LPLUG_TSTRING:
      sa = lplug_value_string(a, pa, &la);
      sb = lplug_value_string(b, pb, &lb);
      return la == lb && memcmp(sa, sb, la) == 0;
    case LPLUG_TTABLE:
      do {
        more = lplug_value_next(a, pa, &ia, &ka, &xa);
        if (more != lplug_value_next(b, pb, &ib, &kb, &xb)) return 0;
        if (more && (!same(a, ka, b, kb) || !same(a, xa, b, xb))) return 0;
      } while (more);
      return 1;
    default: return 1;
  }
}

/* }====================================================== */


/*
** {======================================================
** Decoding
** =======================================================
*/

static void json_decode_every_type(void **state) {
  lplug_value *v = decode(
    " {\"s\": \"x\", \"i\": 42, \"neg\": -7, \"f\": 1.5, \"t\": true,\n"
    "  \"no\": false, \"gone\": null, \"a\": [1, \"two\", [3]],\n"
    "  \"o\": {\"k\": {}}}\r\n\t");
  size_t a, at;
  assert_int_equal(lplug_value_count(v, 0), 8);
  assert_string_equal(lplug_value_string(v, field(v, 0, "s"), NULL), "x");
  assert_int_equal(lplug_value_integer(v, field(v, 0, "i"), NULL), 42);
  assert_int_equal(lplug_value_integer(v, field(v, 0, "neg"), NULL), -7);
  assert_int_equal(lplug_value_type(v, field(v, 0, "f")), LPLUG_TFLOAT);
  assert_true(lplug_value_boolean(v, field(v, 0, "t")));
  assert_int_equal(lplug_value_type(v, field(v, 0, "no")), LPLUG_TBOOLEAN);
  assert_false(lplug_value_field(v, 0, "gone", &at));   /* null: absent */
  a = field(v, 0, "a");
  assert_int_equal(lplug_value_count(v, a), 3);
  assert_true(lplug_value_index(v, a, 3, &at));
  assert_int_equal(lplug_value_type(v, at), LPLUG_TTABLE);
  at = field(v, field(v, 0, "o"), "k");
  assert_int_equal(lplug_value_count(v, at), 0);
  lplug_value_free(v);
}

static void json_decode_numbers_become_integers_when_they_fit(void **state) {
  static const struct { const char *text; int type; double value; } cases[] =
  {
    {"0", LPLUG_TINTEGER, 0},        {"-0", LPLUG_TINTEGER, 0},
    {"127", LPLUG_TINTEGER, 127},    {"-128", LPLUG_TINTEGER, -128},
    {"1.0", LPLUG_TFLOAT, 1.0},      {"1e2", LPLUG_TFLOAT, 100},
    {"1E-2", LPLUG_TFLOAT, 0.01},    {"-1.5e+300", LPLUG_TFLOAT, -1.5e300},
    {"1e-400", LPLUG_TFLOAT, 0},
    {"9223372036854775808", LPLUG_TFLOAT, 9223372036854775808.0},
    {"-9223372036854775809", LPLUG_TFLOAT, -9223372036854775808.0},
    {"12345678901234567890123", LPLUG_TFLOAT, 1.2345678901234568e22},
  };
  size_t i;
  lplug_value *v;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    v = decode(cases[i].text);
    assert_int_equal(lplug_value_type(v, 0), cases[i].type);
    assert_true(lplug_value_float(v, 0, NULL) == cases[i].value);
    lplug_value_free(v);
  }
  v = decode("9223372036854775807");
  assert_true(lplug_value_integer(v, 0, NULL) == LLONG_MAX);
  lplug_value_free(v);
  v = decode("-9223372036854775808");
  assert_true(lplug_value_integer(v, 0, NULL) == LLONG_MIN);
  lplug_value_free(v);
}

static void json_decode_refuses_malformed_numbers(void **state) {
  expect_error("01", "line 1, column 1: numbers cannot start with 0 "
               "(write 0.5, 10)");
  expect_error("-", "line 1, column 2: expected a digit, found the end of "
               "the text");
  expect_error("[1.]", "line 1, column 4: expected a digit after '.', "
               "found ']'");
  expect_error("1e", "line 1, column 3: expected a digit in the exponent, "
               "found the end of the text");
  expect_error(".5", "line 1, column 1: expected a value, found '.'");
  expect_error("+1", "line 1, column 1: expected a value, found '+'");
  expect_error("0x10", "line 1, column 2: expected the end of the text, "
               "found 'x'");
  expect_error("NaN", "line 1, column 1: expected a value, found 'N'");
  expect_error("[1, -1e400]", "line 1, column 5: number out of range");
}

static void json_decode_unescapes_strings_to_utf8(void **state) {
  static const struct { const char *json, *bytes; size_t len; } cases[] = {
    {"\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "a\"b\\c/d\b\f\n\r\t", 12},
    {"\"\\u00e9\\u20AC\"", "\xc3\xa9\xe2\x82\xac", 5},
    {"\"\\ud83d\\ude00!\"", "\xf0\x9f\x98\x80!", 5},
    {"\"a\\u0000b\"", "a\0b", 3},
    {"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xf0\x9f\x98\x80", 10},
    {"\"\"", "", 0},
  };
  size_t i, len;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lplug_value *v = decode(cases[i].json);
    const char *s = lplug_value_string(v, 0, &len);
    assert_non_null(s);
    assert_int_equal(len, cases[i].len);
    assert_memory_equal(s, cases[i].bytes, len + 1);   /* NUL included */
    lplug_value_free(v);
  }
}

static void json_decode_refuses_bad_strings(void **state) {
  expect_error("[\"ab\ncd\"]", "line 1, column 5: control character 0x0a "
               "in a string (write it as \\u000a)");
  expect_error("\"a\\x\"", "line 1, column 3: unknown escape '\\x'");
  expect_error("\"\\u12\"", "line 1, column 2: expected 4 hex digits "
               "after \\u");
  expect_error("\"\\ude00\"", "line 1, column 2: lone low surrogate "
               "\\ude00");
  expect_error("\"\\ud83d x\"", "line 1, column 2: high surrogate \\ud83d "
               "is not followed by a low surrogate");
  expect_error("{\"key\": \"open", "line 1, column 9: string is not closed");
  expect_error("\"a\\", "line 1, column 1: string is not closed");
}

static void json_decode_refuses_text_that_is_not_utf8(void **state) {
  static const struct { const char *json, *msg; } cases[] = {
    {"[\"a\xff\"]", "line 1, column 4: byte 0xff in a string"},
    {"\"\x80\"", "line 1, column 2: byte 0x80 in a string"},       /* stray */
    {"\"\xc0\xaf\"", "line 1, column 2: byte 0xc0 in a string"},  /* '/' */
    {"\"\xe0\x80\xaf\"", "line 1, column 2: byte 0xe0 in a string"},
    {"\"\xed\xa0\x80\"", "line 1, column 2: byte 0xed in a string"},
    {"\"\xf4\x90\x80\x80\"", "line 1, column 2: byte 0xf4 in a string"},
    {"\"\xc3\"", "line 1, column 2: byte 0xc3 in a string"},      /* cut */
    {"\"\\n\xc3(\"", "line 1, column 4: byte 0xc3 in a string"},
    {"{\"k\xfe\": 1}", "line 1, column 4: byte 0xfe in a string"},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[256], want[256];
    lplug_value *v = lplug_value_new();
    assert_int_equal(decode_exact(cases[i].json, strlen(cases[i].json), v,
                                  err, sizeof err), LPLUG_EPARSE);
    snprintf(want, sizeof want, "%s is not UTF-8 (JSON text is UTF-8; "
             "write other characters as \\u escapes)", cases[i].msg);
    assert_string_equal(err, want);
    lplug_value_free(v);
  }
}

static void json_decode_reports_line_and_column(void **state) {
  expect_error("{\n  \"a\": 1,\n  \"b\" 2\n}",
               "line 3, column 7: expected ':' after the key, found '2'");
  expect_error("[\"\xc3\xa9\", x]",      /* columns count characters */
               "line 1, column 7: expected a value, found 'x'");
  expect_error("", "line 1, column 1: expected a value, found the end of "
               "the text");
  expect_error("  \n ", "line 2, column 2: expected a value, found the end "
               "of the text");
}

static void json_decode_refuses_structural_errors(void **state) {
  expect_error("[1,]", "line 1, column 4: expected a value, found ']'");
  expect_error("{\"a\":1,}", "line 1, column 8: expected a string key "
               "after ',', found '}'");
  expect_error("{1:2}", "line 1, column 2: expected a string key or '}', "
               "found '1'");
  expect_error("[1 2]", "line 1, column 4: expected ',' or ']' after an "
               "array element, found '2'");
  expect_error("{\"a\":1 \"b\":2}", "line 1, column 8: expected ',' or "
               "'}' after an object member, found '\"'");
  expect_error("[1, 2", "line 1, column 6: expected ',' or ']' after an "
               "array element, found the end of the text");
  expect_error("{} x", "line 1, column 4: expected the end of the text, "
               "found 'x'");
  expect_error("tru", "line 1, column 1: expected a value, found 't'");
  expect_error("nulll", "line 1, column 5: expected the end of the text, "
               "found 'l'");
  expect_error_n("[1]\0", 4, "line 1, column 4: expected the end of the "
                 "text, found byte 0x00");
}

static void json_decode_limits_nesting_depth(void **state) {
  char text[2 * LPLUG_MAX_DEPTH + 3];
  lplug_value *v;
  int i;
  for (i = 0; i < LPLUG_MAX_DEPTH; i++) {
    text[i] = '[';
    text[LPLUG_MAX_DEPTH + i] = ']';
  }
  text[2 * LPLUG_MAX_DEPTH] = 0;
  v = decode(text);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TTABLE);
  lplug_value_free(v);
  memmove(text + 1, text, 2 * LPLUG_MAX_DEPTH + 1);
  text[0] = '[';
  strcat(text, "]");
  expect_error(text, "line 1, column 101: nested more than 100 arrays and "
               "objects deep");
}

static void json_decode_null_is_absent_in_objects_and_a_hole_in_arrays(
    void **state) {
  lplug_value *v = decode("[null, 2, null, {\"a\": null}, null, null]");
  size_t at;
  assert_int_equal(lplug_value_count(v, 0), 2);
  assert_false(lplug_value_index(v, 0, 1, &at));
  assert_true(lplug_value_index(v, 0, 2, &at));
  assert_true(lplug_value_index(v, 0, 4, &at));
  assert_int_equal(lplug_value_count(v, at), 0);
  expect_json(v, "[null,2,null,{}]");          /* holes at the end vanish */
  lplug_value_free(v);
}

static void json_decode_refuses_a_key_given_twice_in_one_object(
    void **state) {
  char big[8192];
  size_t n = 0;
  int i;
  lplug_value *v;
  expect_error("{\"a\": 1, \"b\": 0, \"a\": 2}", "line 1, column 18: "
               "duplicate key \"a\" (first at line 1, column 2; an object "
               "gives each key once)");
  expect_error("{\"a\": null,\n \"\\u0061\": 2}", "line 2, column 2: "
               "duplicate key \"a\" (first at line 1, column 2; an object "
               "gives each key once)");       /* the same key once decoded */
  expect_error("[{\"x\": {\"x\": 1}, \"y\": 2, \"x\": 3}]", "line 1, "
               "column 26: duplicate key \"x\" (first at line 1, column 3; "
               "an object gives each key once)");
  /* in a large object, the first repeat in the text is the one named */
  n += (size_t)snprintf(big + n, sizeof big - n, "{");
  for (i = 0; i < 500; i++)
    n += (size_t)snprintf(big + n, sizeof big - n, "\"k%d\":0,", i);
  snprintf(big + n, sizeof big - n, "\"k7\":1,\"k3\":1}");
  expect_error(big, "line 1, column 4392: duplicate key \"k7\" (first at "
               "line 1, column 51; an object gives each key once)");
  v = decode("{\"a\": {\"a\": 1}, \"b\": [{\"a\": 2}, {\"a\": 3}]}");
  expect_json(v, "{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}");
  lplug_value_free(v);                 /* equal keys in different objects */
}

static void json_decode_survives_random_text(void **state) {
  static const char alphabet[] = "{}[]\",:0123456789.-+eEtrufalsn\\u \n\x01"
                                 "\xc3\xff";
  static const char valid[] =
    "{\"a\": [1, -2.5e3, \"x\\u00e9\\n\", true, null], \"b\": {\"c\": []}}";
  uint64_t rng = 88172645463325252ull;
  char text[80], err[256];
  int round, ok = 0;
  for (round = 0; round < 20000; round++) {
    size_t n, i;
    lplug_value *v = lplug_value_new();
    int rc;
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    if (round % 2) {
      n = sizeof valid - 1;
      memcpy(text, valid, n);
      for (i = 0; i < 1 + rng % 3; i++)
        text[(rng >> (8 * i + 8)) % n] = alphabet[(rng >> (8 * i)) %
                                                  (sizeof alphabet - 1)];
    } else {
      n = rng % sizeof text;
      for (i = 0; i < n; i++) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        text[i] = alphabet[rng % (sizeof alphabet - 1)];
      }
    }
    rc = decode_exact(text, n, v, err, sizeof err);
    if (rc == LPLUG_OK) {
      char *json;
      ok++;
      assert_int_equal(value_check(v->bytes, v->len), LPLUG_OK);
      json = json_encode(v, 0, (size_t)-1, NULL);
      assert_non_null(json);
      free(json);
    } else {
      assert_int_equal(rc, LPLUG_EPARSE);
      assert_memory_equal(err, "line ", 5);
    }
    lplug_value_free(v);
  }
  assert_true(ok > 100);
}

/* }====================================================== */


/*
** {======================================================
** Encoding
** =======================================================
*/

static void json_encode_scalars(void **state) {
  static const struct { double d; const char *json; } floats[] = {
    {1.0, "1.0"}, {0.1, "0.1"}, {-0.0, "-0.0"}, {1e300, "1e+300"},
    {2.5e-8, "2.5e-08"}, {1.0 / 3, "0.3333333333333333"},
    {5e-324, "4.94065645841247e-324"}, {123456789.0, "123456789.0"},
  };
  lplug_value *v = lplug_value_new();
  size_t i;
  expect_json(v, "null");
  lplug_value_free(v);
  for (i = 0; i < sizeof floats / sizeof floats[0]; i++) {
    v = float_value(floats[i].d);
    expect_json(v, floats[i].json);
    lplug_value_free(v);
  }
  expect_roundtrip("true");
  expect_roundtrip("false");
  expect_roundtrip("-9223372036854775808");
  expect_roundtrip("300");
}

static void expect_refused(const lplug_value *v, const char *msg) {
  char err[256], *s;
  size_t n = 1;
  assert_int_equal(json_encode_text(v, 0, (size_t)-1, "value", &s, &n, err,
                                    sizeof err), LPLUG_EVALUE);
  assert_null(s);
  assert_int_equal(n, 0);
  assert_string_equal(err, msg);
  errno = 0;
  assert_null(lplug_value_to_json(v, NULL));  /* the C API: errno says */
  assert_int_equal(errno, EINVAL);
}

static void json_encode_refuses_nan_and_infinities_naming_the_path(
    void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = float_value(NAN);
  expect_refused(v, "value is NaN (JSON has no NaN or infinities)");
  lplug_value_free(v);
  v = float_value(HUGE_VAL);
  expect_refused(v, "value is inf (JSON has no NaN or infinities)");
  lplug_value_free(v);
  v = lplug_value_new();
  lplug_build_table(b);                      /* { x = { 1, -inf } } */
  lplug_build_string(b, "x", 1);
  lplug_build_table(b);
  lplug_build_integer(b, 1);  lplug_build_integer(b, 1);
  lplug_build_integer(b, 2);  lplug_build_float(b, -HUGE_VAL);
  lplug_build_end(b);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_refused(v, "value.x[2] is -inf (JSON has no NaN or infinities)");
  lplug_build_table(b);                      /* { ["a b"] = { [true] = NaN } } */
  lplug_build_string(b, "a b", 3);
  lplug_build_table(b);
  lplug_build_boolean(b, 1);  lplug_build_float(b, NAN);
  lplug_build_end(b);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_refused(v, "value[\"a b\"][true] is NaN (JSON has no NaN or "
                 "infinities)");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void json_encode_refuses_strings_that_are_not_utf8(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_string(b, "\xff\xfe\x80", 3);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_refused(v, "value is not UTF-8 (byte 0xff at offset 0); JSON text "
                 "is UTF-8: encode binary data first, e.g. as hex");
  lplug_build_table(b);
  lplug_build_string(b, "s", 1);
  lplug_build_string(b, "ok \xc3\xa9 \xc0\xaf", 9);     /* overlong '/' */
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_refused(v, "value.s is not UTF-8 (byte 0xc0 at offset 6); JSON "
                 "text is UTF-8: encode binary data first, e.g. as hex");
  lplug_build_table(b);
  lplug_build_string(b, "k\xed\xa0\x80", 4);                /* surrogate */
  lplug_build_integer(b, 1);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_refused(v, "value has a key that is not UTF-8 (byte 0xed at offset "
                 "1); JSON text is UTF-8");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void json_encode_refuses_keys_that_would_be_written_alike(
    void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_table(b);                      /* { "x", k = 1, ["1"] = "y" } */
  lplug_build_integer(b, 1);        lplug_build_string(b, "x", 1);
  lplug_build_string(b, "k", 1);    lplug_build_integer(b, 1);
  lplug_build_string(b, "1", 1);    lplug_build_string(b, "y", 1);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_refused(v, "value has the keys 1 and \"1\", both \"1\" in JSON "
                 "(object keys are strings; use one kind of key)");
  lplug_build_table(b);
  lplug_build_string(b, "t", 1);
  lplug_build_table(b);
  lplug_build_string(b, "true", 4); lplug_build_integer(b, 1);
  lplug_build_float(b, 2.5);        lplug_build_integer(b, 2);
  lplug_build_boolean(b, 1);        lplug_build_integer(b, 3);
  lplug_build_end(b);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_refused(v, "value.t has the keys true and \"true\", both \"true\" "
                 "in JSON (object keys are strings; use one kind of key)");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void json_encode_escapes_strings(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_string(b, "a\"b\\c\n\t\x01\x1f\x7f/\xc3\xa9\0z", 15);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_json(v, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\x7f/\xc3\xa9\\u0000z\"");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void json_encode_sequences_become_arrays(void **state) {
  lplug_value *v = decode("[1, null, 3]");
  expect_roundtrip("[1,\"two\",[3,[4]],{\"a\":[true]}]");
  expect_json(v, "[1,null,3]");                /* a hole inside: null */
  lplug_value_free(v);
}

static void json_encode_other_tables_become_objects(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_table(b);
  lplug_build_integer(b, 1);       lplug_build_string(b, "one", 3);
  lplug_build_string(b, "x", 1);   lplug_build_integer(b, 1);
  lplug_build_integer(b, -1);      lplug_build_string(b, "neg", 3);
  lplug_build_float(b, 1.5);       lplug_build_string(b, "float", 5);
  lplug_build_boolean(b, 1);       lplug_build_table(b);  lplug_build_end(b);
  lplug_build_float(b, HUGE_VAL);  lplug_build_integer(b, 2);
  lplug_build_float(b, -HUGE_VAL); lplug_build_integer(b, 3);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  expect_json(v, "{\"1\":\"one\",\"x\":1,\"-1\":\"neg\",\"1.5\":\"float\","
                 "\"true\":{},\"inf\":2,\"-inf\":3}");
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void json_encode_writes_the_empty_table_as_an_object(void **state) {
  lplug_value *v = decode("[]");
  expect_json(v, "{}");
  lplug_value_free(v);
  expect_roundtrip("{}");
  expect_roundtrip("{\"a\":{},\"b\":[{}]}");
}

static void json_roundtrip_text(void **state) {
  expect_roundtrip("{\"name\":\"lplug\",\"n\":3,\"f\":2.5,\"list\":[1,null,"
                   "\"\\u0001\"],\"deep\":{\"er\":{\"est\":[[[0.1]]]}}}");
  expect_roundtrip("[-0.0,1e+300,9223372036854775807,\"\\\"\"]");
}

/* A random JSON-compatible value: sequences, string-keyed objects, every
** scalar (floats from random bits, finite ones only). */
static uint64_t seed = 0x2545f4914f6cdd1dull;
static uint64_t next_rand(void) {
  seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
  return seed;
}

static void random_value(lplug_builder *b, int depth) {
  uint64_t r = next_rand();
  char s[16];
  double d;
  int i, n;
  switch (r % (depth < 4 ? 8 : 6)) {
    case 0: lplug_build_boolean(b, (int)(r >> 8) & 1); break;
    case 1: lplug_build_integer(b, (long long)(r >> 3)); break;
    case 2: lplug_build_integer(b, (long long)(r >> 40) - 8000000); break;
    case 3:
      do { r = next_rand(); memcpy(&d, &r, sizeof d); } while (!isfinite(d));
      lplug_build_float(b, d);
      break;
    case 4: case 5:
      for (i = 0; i < 7; i++) s[i] = (char)(next_rand() % 128);  /* UTF-8 */
      lplug_build_string(b, s, (size_t)(r >> 8) % 8);
      break;
    case 6:
      lplug_build_table(b);
      for (i = 1, n = 1 + (int)(r >> 8) % 5; i <= n; i++) {
        lplug_build_integer(b, i);
        random_value(b, depth + 1);
      }
      lplug_build_end(b);
      break;
    default:
      lplug_build_table(b);
      for (i = 0, n = (int)(r >> 8) % 5; i < n; i++) {
        snprintf(s, sizeof s, "k%d", i);
        lplug_build_string(b, s, strlen(s));
        random_value(b, depth + 1);
      }
      lplug_build_end(b);
  }
}

static void json_roundtrip_random_values_are_identical(void **state) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  char err[256];
  int i;
  for (i = 0; i < 2000; i++) {
    lplug_value *back = lplug_value_new();
    char *json;
    size_t n;
    random_value(b, 0);
    assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
    json = json_encode(v, 0, (size_t)-1, &n);
    assert_non_null(json);
    if (json_decode(json, n, back, err, sizeof err) != LPLUG_OK)
      fail_msg("%s: %s", json, err);
    if (!same(v, 0, back, 0)) fail_msg("not the same after %s", json);
    free(json);
    lplug_value_free(back);
  }
  lplug_builder_free(b);
  lplug_value_free(v);
}

static void json_numbers_do_not_depend_on_the_locale(void **state) {
  lplug_value *v;
  if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL &&
      setlocale(LC_NUMERIC, "fr_FR.UTF-8") == NULL) {
    skip();                  /* no locale with a decimal comma here */
  }
  assert_string_equal(localeconv()->decimal_point, ",");
  v = decode("[2.5, 1e-3]");
  expect_json(v, "[2.5,0.001]");
  lplug_value_free(v);
  setlocale(LC_NUMERIC, "C");
}

static void lplug_value_to_json_gives_text_freed_with_lplug_free(
    void **state) {
  lplug_value *v = decode("{\"a\": [1, 2]}");
  size_t n = 0;
  char *s = lplug_value_to_json(v, &n);
  assert_string_equal(s, "{\"a\":[1,2]}");
  assert_int_equal(n, 11);
  lplug_free(s);
  s = lplug_value_to_json(v, NULL);
  assert_non_null(s);
  lplug_free(s);
  lplug_value_free(v);
}

/* }====================================================== */

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(json_decode_every_type),
    cmocka_unit_test(json_decode_numbers_become_integers_when_they_fit),
    cmocka_unit_test(json_decode_refuses_malformed_numbers),
    cmocka_unit_test(json_decode_unescapes_strings_to_utf8),
    cmocka_unit_test(json_decode_refuses_bad_strings),
    cmocka_unit_test(json_decode_reports_line_and_column),
    cmocka_unit_test(json_decode_refuses_structural_errors),
    cmocka_unit_test(json_decode_limits_nesting_depth),
    cmocka_unit_test(
      json_decode_null_is_absent_in_objects_and_a_hole_in_arrays),
    cmocka_unit_test(json_decode_refuses_a_key_given_twice_in_one_object),
    cmocka_unit_test(json_decode_refuses_text_that_is_not_utf8),
    cmocka_unit_test(json_decode_survives_random_text),
    cmocka_unit_test(json_encode_scalars),
    cmocka_unit_test(json_encode_refuses_nan_and_infinities_naming_the_path),
    cmocka_unit_test(json_encode_refuses_strings_that_are_not_utf8),
    cmocka_unit_test(json_encode_refuses_keys_that_would_be_written_alike),
    cmocka_unit_test(json_encode_escapes_strings),
    cmocka_unit_test(json_encode_sequences_become_arrays),
    cmocka_unit_test(json_encode_other_tables_become_objects),
    cmocka_unit_test(json_encode_writes_the_empty_table_as_an_object),
    cmocka_unit_test(json_roundtrip_text),
    cmocka_unit_test(json_roundtrip_random_values_are_identical),
    cmocka_unit_test(json_numbers_do_not_depend_on_the_locale),
    cmocka_unit_test(lplug_value_to_json_gives_text_freed_with_lplug_free),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
