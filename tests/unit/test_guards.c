/*
** test_guards.c -- the long C functions plugins get (sandbox/pattern.c,
** tablib.c, guards.c): the same results as stock Lua 5.4 (the same Lua
** script runs in a plain lua_State and in a plugin, and their outputs are
** compared line by line), and the work they do is paid for in both CPU
** modes.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "fixture.h"

#define MS 1000000LL

/* The scripts both run (from the top of the tree, as tests/run does). */
#define GUARDS_SCRIPT "tests/unit/guards_compare.lua"
#define BASE_SCRIPT "tests/unit/base_compare.lua"

static char *read_script(const char *path) {
  FILE *fp = fopen(path, "rb");
  char *text;
  long n;
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  rewind(fp);
  text = calloc(1, (size_t)n + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  return text;
}

/* The output (which holds NUL bytes: some subjects do) and its length. */
static char *run_stock(const char *script, size_t *len) {
  lua_State *L = luaL_newstate();
  const char *out;
  char *copy;
  assert_non_null(L);
  luaL_openlibs(L);
  if (luaL_loadstring(L, script) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
    fail_msg("stock Lua: %s", lua_tostring(L, -1));
  out = lua_tolstring(L, -1, len);
  copy = malloc(*len + 1);
  assert_non_null(copy);
  memcpy(copy, out, *len + 1);
  lua_close(L);
  return copy;
}

/* Compares line by line, the whole of both, printing the first
** difference. */
static void same_lines(const char *want, size_t wlen, const char *got,
                       size_t glen) {
  size_t i = 0, start = 0;
  int line = 1;
  while (i < wlen && i < glen && want[i] == got[i]) {
    if (want[i] == '\n') {
      line++;
      start = i + 1;
    }
    i++;
  }
  if (i < wlen || i < glen)
    fail_msg("line %d differs:\nstock:   %.120s\nsandbox: %.120s", line,
             want + start, got + start);
}

/* Runs the script at path in stock Lua and as a plugin's handler, and
** compares the outputs, which must be at least min bytes. */
static void agree_with_stock_lua(fixture *f, const char *path, size_t min) {
  lplug_value *v = lplug_value_new();
  char *script = read_script(path);
  size_t wlen, glen;
  char *want = run_stock(script, &wlen);
  const char *got;
  size_t n = strlen(script) + 200;
  char *init = malloc(n), *dir;
  int rc;
  assert_non_null(init);
  snprintf(init, n, "local function run()\n%s\nend\n"
           "require('lplug.hooks').on('t', run)\n", script);
  dir = support_plugin(f->root, "script", NULL, init);
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  rc = lplug_load_plugin(f->e, dir);
  if (rc == LPLUG_OK) rc = lplug_hook_run(f->e, "t", v);
  free(dir);
  free(init);
  if (rc != LPLUG_OK) fail_msg("%s", f->log.last_message);
  got = lplug_value_string(v, 0, &glen);
  assert_non_null(got);
  assert_true(wlen >= min);  /* the whole script's output, not a part */
  same_lines(want, wlen, got, glen);
  free(want);
  free(script);
  lplug_value_free(v);
}

static void guards_agree_with_stock_lua(void **state) {
  agree_with_stock_lua(*state, GUARDS_SCRIPT, 200000);
}

/* Coroutines, xpcall, load, select, error and the conversions. */
static void base_functions_agree_with_stock_lua(void **state) {
  agree_with_stock_lua(*state, BASE_SCRIPT, 1000);
}

/* {======================================================================
** Their work is paid for
** ======================================================================= */

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Each body would run for minutes (or for ever) in stock Lua without one
** VM instruction; here it stops with the CPU error, well within a
** second. */
static const char *const LONG_CALLS[] = {
  "string.find(('a'):rep(400), '.-.-.-.-b')",
  "string.match(('a'):rep(400), '(.*)(.*)(.*)(.*)b')",
  "for _ in string.gmatch(('a'):rep(400), '.-.-.-.-b') do end",
  "string.gsub(('a'):rep(400), '.-.-.-.-b', '')",
  "string.find(('a'):rep(60000), ('a'):rep(30000) .. 'b', 1, true)",
  "string.rep('', 1e18) string.rep('', 1e18, '') while true do end",
  "table.move({}, 1, 1e15, 2)",
  "table.insert(setmetatable({}, { __len = function() return 1e15 end }),"
  " 1, 'x')",
  "table.remove(setmetatable({}, { __len = function() return 1e15 end }),"
  " 1)",
  "table.sort(setmetatable({}, { __len = function() return 2^31 - 2 end,\n"
  "  __index = rawlen, __newindex = rawset }))",
  "table.concat(setmetatable({}, { __index = rawlen }), '', 1, 1e15)",
  "local s = ('x'):rep(50000) while true do s:upper() end",
  "local s = ('\\x80'):rep(50000) local f = utf8.codes(s)\n"
  "while true do pcall(f, s, 0) end",
  "local s = ('a'):rep(50000) while true do utf8.len(s) end",
  "local piece = (' '):rep(50000) load(function() return piece end)",
};

static void run_long_calls(fixture *f, const char *text) {
  size_t i;
  for (i = 0; i < sizeof LONG_CALLS / sizeof LONG_CALLS[0]; i++) {
    long long t0 = now_ns();
    int rc = eval(f, LONG_CALLS[i], NULL);
    long long spent = now_ns() - t0;
    if (rc != LPLUG_ECPU || strstr(f->log.last_message, text) == NULL ||
        spent > 30000 * MS)  /* only a hang fails: unguarded, the first
                                case alone runs for minutes */
      fail_msg("case %zu (%s): %s after %lld ms: %s", i, LONG_CALLS[i],
               lplug_errname(rc), spent / MS, f->log.last_message);
  }
}

static void guards_long_calls_spend_the_instruction_budget(void **state) {
  run_long_calls(*state, "instruction budget of 200000 spent");
}

static int setup_deadline(void **state) {
  fixture *f = calloc(1, sizeof *f);
  lplug_config config = {0};
  assert_non_null(f);
  config.memory_limit = 1024 * 1024;
  config.time_limit = 50 * MS;
  config.grant = lplug_grant_declared;
  f->e = support_engine_with(&f->log, &config);
  f->root = support_tmpdir();
  *state = f;
  return 0;
}

static void guards_long_calls_stop_at_the_deadline(void **state) {
  run_long_calls(*state, "time limit of 50 ms passed");
}

/* Runs handler body `fmt` (taking an int, then a string) as two plugins,
** with `many` and with `few`, and fails unless the first was charged at
** least `more` instructions beyond the second. */
static void charged_more(fixture *f, const char *fmt, int many, int few,
                         const char *what, unsigned long long more) {
  lplug_stats st[2];
  int k;
  for (k = 0; k < 2; k++) {
    char body[512], name[32];
    snprintf(body, sizeof body, fmt, k == 0 ? many : few, what);
    expect_ok(f, body);
    snprintf(name, sizeof name, "p%d", f->n);
    assert_int_equal(lplug_plugin_stats(f->e, name, &st[k]), LPLUG_OK);
  }
  if (st[0].instructions < st[1].instructions + more)
    fail_msg("%s: %llu vs %llu", what, st[0].instructions,
             st[1].instructions);
}

/* 10 x 16000 bytes at 16 bytes an instruction, plus the rep. */
static void guards_charge_in_proportion_to_work(void **state) {
  charged_more(*state, "local s = ('x'):rep(%d) for i = 1, 10 do s:%s() end",
               16000, 16, "upper", 10000);
}

/* Arithmetic on a string converts it to a number, scanning it (blanks
** and all) inside one VM instruction: the string metatable's arithmetic
** is charged by its strings' bytes (uncharged, `s + 0` on 50 KB of
** blanks ran 13 s under 1M instructions). */
static void guards_string_arithmetic_is_charged_by_its_strings(
    void **state) {
  static const char *const ops[] = {"s + 0", "0 - s", "s * 1", "s / 1",
                                    "s % 7", "s ^ 1", "s // 1", "-s"};
  size_t i;
  for (i = 0; i < sizeof ops / sizeof ops[0]; i++)  /* 10 x 16000 bytes */
    charged_more(*state, "local s = (' '):rep(%d) .. '1'\n"
                 "for i = 1, 10 do local _ = %s end", 16000, 16, ops[i], 9000);
}

/* math.max and math.min compare any number of arguments (strings too),
** string.char and utf8.char convert any number of them: charged by their
** strings' bytes (one math.max over 20,000 references to a 1.5 MB string
** of NUL bytes ran 180 s without a charge). */
static void guards_variadic_functions_are_charged_by_their_strings(
    void **state) {
  static const char *const calls[] = {"math.max(s, s, s)", "math.min(s, s, s)",
                                      "string.char(s, s, s)",
                                      "utf8.char(s, s, s)"};
  size_t i;
  for (i = 0; i < sizeof calls / sizeof calls[0]; i++)  /* 10 x 3 x 16000 */
    charged_more(*state, "local s = (' '):rep(%d) .. '65'\n"
                 "for i = 1, 10 do local _ = %s end", 16000, 16, calls[i],
                 27000);
}

/* string.pack's c<n> pads its string to n bytes, one at a time: charged
** by that size, not by the format's few bytes (uncharged, a loop of
** pack('c50000', '') ran 2 s under 200,000 instructions). */
static void guards_pack_is_charged_by_its_output(void **state) {
  charged_more(*state, "for i = 1, 10 do string.pack('c%d', '%s') end",
               16000, 16, "", 9000);
}

/* string.format('%s', t) copies what t's __tostring returns: charged by
** its bytes as a string argument is (uncharged, a loop formatting a
** cached 256 KB string ran 1.7 s under 5M instructions); with a
** precision Lua still scans it whole. */
static void guards_format_is_charged_for_tostring_results(void **state) {
  static const char *const formats[] = {"%s", "%.5s", "%-3s|%d"};
  size_t i;
  for (i = 0; i < sizeof formats / sizeof formats[0]; i++)  /* 10 x 16000 */
    charged_more(*state, "local big = ('x'):rep(%d)\n"
                 "local t = setmetatable({}, {__tostring = function()\n"
                 "  return big end})\n"
                 "for i = 1, 10 do local _ = string.format('%s', t, 1) end",
                 16000, 16, formats[i], 9000);
}

/* A host may give plugins SIZE_MAX bytes ("no limit"): the charges, which
** are capped by the memory limit, still add up without overflow (make
** asan's UBSan stops at the first signed overflow). */
static void guards_charges_hold_under_an_unlimited_memory_limit(
    void **state) {
  fixture *f = *state;
  support_log log;
  lplug_engine *e = support_engine(&log, SIZE_MAX, 200000);
  char name[32];
  snprintf(name, sizeof name, "p%d", ++f->n);
  /* c<40 digits>: a size past any memory, charged as the most there is */
  assert_int_equal(support_eval(e, f->root, name,
    "string.pack('c' .. ('1'):rep(40), '')", NULL), LPLUG_ECPU);
  lplug_engine_free(e);
}

/* The table functions charge their elements in blocks of 256 and what
** the last block left when they return: a loop of calls on fewer than 256
** elements each pays for every element (it paid for none before). */
static void guards_table_functions_pay_for_short_runs(void **state) {
  static const struct {
    const char *call;
    int n;                    /* elements (20 for sort: 80 comparisons) */
    unsigned long long more;  /* at least this many more instructions */
  } cases[] = {
    {"table.move(t, 1, #t, 1, {})", 200, 9000},
    {"table.concat(t)", 200, 9000},
    {"table.insert(t, 1, '0') table.remove(t, 1)", 200, 18000},
    {"table.sort(t)", 20, 2000},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    charged_more(*state, "local t = {} for i = 1, %d do t[i] = tostring(i) "
                 "end\nfor i = 1, 50 do %s end", cases[i].n, 2, cases[i].call,
                 cases[i].more);
}

static void guards_gsub_callback_runs_under_the_budget(void **state) {
  expect_error(*state,
    "string.gsub(('x'):rep(100), '.', function() while true do end end)",
    LPLUG_ECPU, "instruction budget");
}

static void guards_sort_comparator_errors_propagate(void **state) {
  expect_error(*state,
    "table.sort({ 3, 2, 1 }, function() error('cmp failed') end)",
    LPLUG_ERUNTIME, "cmp failed");
}

static void guards_deep_pattern_is_refused(void **state) {
  expect_error(*state, "string.find(('a'):rep(300), ('a?'):rep(300))",
               LPLUG_ERUNTIME, "pattern too complex");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(guards_agree_with_stock_lua,
                                    fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(base_functions_agree_with_stock_lua,
                                    fixture_setup, fixture_teardown),
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup_small, \
                                                fixture_teardown)
    T(guards_long_calls_spend_the_instruction_budget),
    T(guards_charge_in_proportion_to_work),
    T(guards_string_arithmetic_is_charged_by_its_strings),
    T(guards_variadic_functions_are_charged_by_their_strings),
    T(guards_pack_is_charged_by_its_output),
    T(guards_format_is_charged_for_tostring_results),
    T(guards_table_functions_pay_for_short_runs),
    T(guards_charges_hold_under_an_unlimited_memory_limit),
    T(guards_gsub_callback_runs_under_the_budget),
    T(guards_sort_comparator_errors_propagate),
    T(guards_deep_pattern_is_refused),
#undef T
    cmocka_unit_test_setup_teardown(guards_long_calls_stop_at_the_deadline,
                                    setup_deadline, fixture_teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("guards", tests, NULL, NULL);
}
