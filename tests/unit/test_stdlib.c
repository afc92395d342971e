/*
** test_stdlib.c -- lplug.log, lplug.time and lplug.json: what they do,
** and that each needs its capability.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "fixture.h"

/* A plugin declaring every stdlib capability, with handler body `body`
** on fail-closed hook "t"; returns the run's code. */
static int run(fixture *f, const char *body, lplug_value *out) {
  char code[4096], name[32];
  snprintf(name, sizeof name, "s%d", ++f->n);
  snprintf(code, sizeof code,
           "local hooks = require 'lplug.hooks'\n"
           "local log, time, json = require 'lplug.log', require 'lplug.time',"
           " require 'lplug.json'\n"
           "hooks.on('t', function(v)\n%s\nend)\n", body);
  char yaml[256];
  snprintf(yaml, sizeof yaml, "name: %s\nversion: 1.0.0\ncapabilities:\n"
           "  hooks: [t]\n  log: {}\n  time: {}\n  json: {}\n", name);
  if (lplug_hook_find(f->e, "t") == NULL)
    lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  char *dir = support_plugin(f->root, name, yaml, code);
  int rc = lplug_load_plugin(f->e, dir);
  free(dir);
  if (rc != LPLUG_OK) return rc;
  lplug_value *nil = NULL;
  if (out == NULL) out = nil = lplug_value_new();
  rc = lplug_hook_run(f->e, "t", out);
  lplug_value_free(nil);
  return rc;
}

/* An argument error names the module's function even when no call
** expression names it (a pcall of it, a handler table): Lua looks it up
** among the loaded modules, as 'string.rep' is found.  They said '?'. */
static void stdlib_argument_errors_name_the_module_function(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(run(f, "local ok, e1 = pcall(json.encode)\n"
                          "local ok2, e2 = pcall(log.info, {})\n"
                          "return e1 .. ' / ' .. e2", v), LPLUG_OK);
  assert_non_null(strstr(lplug_value_string(v, 0, NULL),
                         "bad argument #1 to 'lplug.json.encode'"));
  assert_non_null(strstr(lplug_value_string(v, 0, NULL),
                         "to 'lplug.log.info'"));
  lplug_value_free(v);
}

static void stdlib_log_sends_formatted_lines_by_level(void **state) {
  fixture *f = *state;
  assert_int_equal(run(f, "log.debug('d')\nlog.info('seen %d of %s', 3, 'x')\n"
                          "log.warn('w')\nlog.error('boom %q', 'a')", NULL),
                   LPLUG_OK);
  assert_int_equal(f->log.logs[LPLUG_LOG_DEBUG], 1);
  assert_int_equal(f->log.logs[LPLUG_LOG_INFO], 1);
  assert_int_equal(f->log.logs[LPLUG_LOG_WARN], 1);
  assert_int_equal(f->log.logs[LPLUG_LOG_ERROR], 1);
  assert_string_equal(f->log.printed, "seen 3 of x\n");
  assert_string_equal(f->log.last_log, "s1: boom \"a\"");
}

/* log formats with the sandbox's string.format, not the plugin's: one
** replaced by a function returning nothing gave the host's log callback
** a NULL message.  A format error names log's own argument. */
static void stdlib_log_formats_with_its_own_string_format(void **state) {
  fixture *f = *state;
  char *dir = support_plugin(f->root, "fmt", "name: fmt\nversion: 1.0.0\n"
                             "capabilities:\n  log: {}\n",
    "string.format = function() end\n"
    "local log = require 'lplug.log'\n"
    "log.info('%d records', 3)\n"
    "local ok, err = pcall(function() log.info('%d', 'x') end)\n"
    "log.warn(err)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_string_equal(f->log.printed, "3 records\n");
  assert_non_null(strstr(f->log.last_log, "fmt/init.lua:4: bad argument #2 "
                         "to 'info' (number expected, got string)"));
  free(dir);
}

static void stdlib_log_is_rate_limited(void **state) {
  fixture *f = *state;
  assert_int_equal(run(f, "for i = 1, 1000 do log.debug('spam %d', i) end",
                       NULL), LPLUG_OK);
  /* the burst, plus what refilled while the loop ran */
  assert_true(f->log.logs[LPLUG_LOG_DEBUG] >= 100);
  assert_true(f->log.logs[LPLUG_LOG_DEBUG] <= 110);
  struct timespec pause = {0, 100 * 1000 * 1000};
  nanosleep(&pause, NULL);  /* 0.1 s refills 5 messages */
  lplug_value *v = lplug_value_new();
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_non_null(strstr(f->log.last_warning, "messages dropped: more than "
                                              "100 at once or 50 a second"));
  lplug_value_free(v);
}

/* print is a message at info level under the same limit: it needs no
** capability, and 100,000 lines of 4 KB once all reached the host.  The
** burst is shared: after 100 log lines, print gets (nearly) nothing. */
static void stdlib_print_shares_the_log_rate_limit(void **state) {
  fixture *f = *state;
  assert_int_equal(run(f, "for i = 1, 1000 do print('spam', i) end", NULL),
                   LPLUG_OK);
  assert_true(f->log.logs[LPLUG_LOG_INFO] >= 100);
  assert_true(f->log.logs[LPLUG_LOG_INFO] <= 110);
  assert_int_equal(run(f, "for i = 1, 1000 do log.warn('w') end\n"
                          "for i = 1, 1000 do print('p') end", NULL),
                   LPLUG_OK);
  assert_true(f->log.logs[LPLUG_LOG_WARN] + f->log.logs[LPLUG_LOG_INFO] <=
              100 + 110);
}

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The note of what was dropped comes at most once a second: not with
** every line that passes in a flood, where half the host's lines were
** notes.  Three floods 0.3 s apart: the first is told as its call ends,
** the other two wait for a second to pass.  What the rate refilled is
** judged by the time that really passed: on a machine so busy that the
** floods took a second, the second note is due, and is all that may
** come. */
static void stdlib_dropped_lines_are_said_at_most_once_a_second(
    void **state) {
  fixture *f = *state;
  struct timespec pause = {0, 300 * 1000 * 1000};  /* refills 15 lines */
  lplug_value *v = lplug_value_new();
  double began, took;
  int i;
  began = seconds_now();
  assert_int_equal(run(f, "for i = 1, 1000 do print('p') end", NULL),
                   LPLUG_OK);
  assert_int_equal(f->log.warnings, 1);
  assert_non_null(strstr(f->log.last_warning, "messages dropped: more than "
                                              "100 at once or 50 a second"));
  for (i = 0; i < 2; i++) {
    nanosleep(&pause, NULL);
    assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  }
  took = seconds_now() - began;
  if (took < 1.0) assert_int_equal(f->log.warnings, 1);
  else assert_true(f->log.warnings <= 2);
  /* 100, then 15, then 15: the burst and what 50 a second refilled */
  assert_true(f->log.logs[LPLUG_LOG_INFO] >= 130);
  assert_true(f->log.logs[LPLUG_LOG_INFO] <= 100 + (int)(50 * took) + 2);
  lplug_value_free(v);
}

/* One line over the burst is one message dropped, said so.  (The line
** passes instead when the loop is slow enough for the rate to refill
** it, as under valgrind: then nothing is dropped or said.) */
static void stdlib_one_dropped_line_is_said_in_the_singular(void **state) {
  fixture *f = *state;
  assert_int_equal(run(f, "for i = 1, 101 do print('p') end", NULL),
                   LPLUG_OK);
  if (f->log.logs[LPLUG_LOG_INFO] == 101) {
    assert_int_equal(f->log.warnings, 0);
    return;
  }
  assert_int_equal(f->log.logs[LPLUG_LOG_INFO], 100);
  assert_int_equal(f->log.warnings, 1);
  assert_non_null(strstr(f->log.last_warning, "(1 message dropped: more "
                                              "than 100 at once"));
}

/* A flood that ends is still told: a plugin that never logs again, or is
** never called again, has its last count said when it goes. */
static void stdlib_dropped_lines_are_said_when_the_plugin_goes(
    void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  char name[32];
  assert_int_equal(run(f, "for i = 1, 1000 do log.info('spam') end", NULL),
                   LPLUG_OK);
  assert_int_equal(f->log.warnings, 1);            /* as the call ended */
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_int_equal(f->log.warnings, 1);            /* under a second */
  snprintf(name, sizeof name, "s%d", f->n);
  assert_int_equal(lplug_plugin_unload(f->e, name), LPLUG_OK);
  assert_int_equal(f->log.warnings, 2);
  assert_non_null(strstr(f->log.last_warning, " messages dropped: more "
                                              "than 100 at once"));
  lplug_value_free(v);
}

/* The host's callback gets a C string: a NUL byte in a message or a
** printed value ended it there, and print dropped the values after. */
static void stdlib_log_and_print_keep_nul_bytes_as_backslash_0(void **state) {
  fixture *f = *state;
  assert_int_equal(run(f, "print('a\\0b', 3)\nlog.warn('warn\\0nul')\n"
                          "log.info('%s|', '\\0\\0')", NULL), LPLUG_OK);
  assert_string_equal(f->log.printed, "a\\0b\t3\n\\0\\0|\n");
  assert_string_equal(f->log.last_warning, "warn\\0nul");
}

static void stdlib_log_needs_a_string(void **state) {
  fixture *f = *state;
  assert_int_equal(run(f, "log.info({})", NULL), LPLUG_ERUNTIME);
  assert_non_null(strstr(f->log.last_message,
                         "bad argument #1 to 'info' (string expected, got "
                         "table)"));
}

static void stdlib_time_tells_wall_and_monotonic_time(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(run(f, "local a = time.monotonic()\n"
                          "for i = 1, 1000 do end\n"
                          "assert(time.monotonic() >= a)\n"
                          "return time.now()", v), LPLUG_OK);
  int ok;
  double now = lplug_value_float(v, 0, &ok);
  assert_true(ok);
  assert_true(now > (double)time(NULL) - 5 && now < (double)time(NULL) + 5);
  lplug_value_free(v);
}

static void stdlib_json_round_trips(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(run(f,
    "local t = json.decode('{\"a\": [1, 2.5, \"x\", true], \"b\": {}}')\n"
    "assert(t.a[1] == 1 and math.type(t.a[1]) == 'integer')\n"
    "assert(t.a[2] == 2.5 and t.a[3] == 'x' and t.a[4] == true)\n"
    "assert(json.encode({1, 2, 3}) == '[1,2,3]')\n"
    "assert(json.encode('q\"') == '\"q\\\\\"\"')\n"
    "return json.encode({ n = 1 })", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "{\"n\":1}");
  lplug_value_free(v);
}

static void stdlib_json_decode_error_returns_nil_and_position(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(run(f, "local t, err = json.decode('{\"a\": }')\n"
                          "assert(t == nil)\nreturn err", v), LPLUG_OK);
  assert_non_null(strstr(lplug_value_string(v, 0, NULL), "line 1, column 7"));
  lplug_value_free(v);
}

static void stdlib_json_encode_refuses_functions_with_path(void **state) {
  fixture *f = *state;
  assert_int_equal(run(f, "json.encode({ a = { f = print } })", NULL),
                   LPLUG_ERUNTIME);
  assert_non_null(strstr(f->log.last_message,
                         "json.encode: value.a.f is a function"));
}

/* JSON has no NaN, infinities or bytes outside UTF-8: encode raises
** rather than writing null or text that is not JSON. */
static void stdlib_json_encode_refuses_what_json_cannot_hold(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(run(f, "local out = {}\n"
                          "for _, x in ipairs{ { x = { 1, 0/0 } }, 1/0,\n"
                          "    { s = '\\xff\\xfe\\x80' }, { 'x', k = 1, ['1'] = 'y' } } do\n"
                          "  local ok, err = pcall(json.encode, x)\n"
                          "  out[#out + 1] = err\n"
                          "end\n"
                          "return table.concat(out, '\\n')", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL),
    "json.encode: value.x[2] is NaN (JSON has no NaN or infinities)\n"
    "json.encode: value is inf (JSON has no NaN or infinities)\n"
    "json.encode: value.s is not UTF-8 (byte 0xff at offset 0); JSON text "
    "is UTF-8: encode binary data first, e.g. as hex\n"
    "json.encode: value has the keys 1 and \"1\", both \"1\" in JSON (object "
    "keys are strings; use one kind of key)");
  lplug_value_free(v);
}

static void stdlib_json_decode_refuses_deep_nesting(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(run(f, "return select(2, json.decode(string.rep('[', 200)"
                          " .. string.rep(']', 200)))", v), LPLUG_OK);
  assert_non_null(strstr(lplug_value_string(v, 0, NULL), "deep"));
  lplug_value_free(v);
}

static void stdlib_json_work_is_charged_to_the_budget(void **state) {
  /* one call decoding 4 MB of JSON costs its size: over a 200,000 budget */
  fixture *f = *state;
  lplug_engine_free(f->e);
  f->e = support_engine(&f->log, 16 * 1024 * 1024, 200000);
  assert_int_equal(run(f, "local s = '[' .. string.rep('1,', 2000000) .. '1]'\n"
                          "json.decode(s)", NULL), LPLUG_ECPU);
}

/* json.encode makes its text in the host's memory: it stops at the
** plugin's memory limit (a string of control bytes grows sixfold as JSON,
** so a 400 KB string made 2.4 MB of host memory under a 2 MB limit). */
static void stdlib_json_encode_stops_at_the_memory_limit(void **state) {
  fixture *f = *state;
  lplug_engine_free(f->e);
  f->e = support_engine(&f->log, 2 * 1024 * 1024, 0);
  assert_int_equal(run(f,
    "local ok, err = pcall(json.encode, string.rep('\\1', 400000))\n"
    "assert(not ok and err:find(\"json.encode: the text would be over the "
    "plugin's memory limit of 2097152 bytes\", 1, true), err)\n"
    "assert(#json.encode(string.rep('\\1', 100000)) == 600002)", NULL),
    LPLUG_OK);
}

static void stdlib_modules_need_their_capability(void **state) {
  fixture *f = *state;
  char *dir = support_plugin(f->root, "bare", NULL,
    "local ok, err = pcall(require, 'lplug.json')\n"
    "assert(err:find(\"plugin 'bare' lacks capability 'json'\"), err)\n"
    "ok, err = pcall(require, 'lplug.log')\n"
    "assert(err:find(\"lacks capability 'log'\"), err)\n"
    "ok, err = pcall(require, 'lplug.time')\n"
    "assert(err:find(\"lacks capability 'time'\"), err)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(f->e, "bare", &st), LPLUG_OK);
  assert_int_equal(st.denials, 3);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, \
                                                fixture_teardown)
    T(stdlib_argument_errors_name_the_module_function),
    T(stdlib_log_sends_formatted_lines_by_level),
    T(stdlib_log_formats_with_its_own_string_format),
    T(stdlib_log_is_rate_limited),
    T(stdlib_print_shares_the_log_rate_limit),
    T(stdlib_dropped_lines_are_said_at_most_once_a_second),
    T(stdlib_dropped_lines_are_said_when_the_plugin_goes),
    T(stdlib_one_dropped_line_is_said_in_the_singular),
    T(stdlib_log_and_print_keep_nul_bytes_as_backslash_0),
    T(stdlib_log_needs_a_string),
    T(stdlib_time_tells_wall_and_monotonic_time),
    T(stdlib_json_round_trips),
    T(stdlib_json_decode_error_returns_nil_and_position),
    T(stdlib_json_encode_refuses_functions_with_path),
    T(stdlib_json_encode_refuses_what_json_cannot_hold),
    T(stdlib_json_decode_refuses_deep_nesting),
    T(stdlib_json_work_is_charged_to_the_budget),
    T(stdlib_json_encode_stops_at_the_memory_limit),
    T(stdlib_modules_need_their_capability),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("stdlib", tests, NULL, NULL);
}
