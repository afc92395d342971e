/*
** test_deadline.c -- deadline mode: a wall-clock limit per call, kept by
** the engine's watchdog, as uncatchable as the instruction budget.  The
** engine here allows 256 KB and 100 ms per call, and no instruction limit
** (so no count hook runs until a call is late).  The only timed assertion
** is a generous one: a runaway call ends within a second.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "engine/manifest.h"
#include "sandbox/sandbox.h"

#define MS 1000000LL
#define BOUND_NS (20000 * MS)  /* a stopped call ends well within this,
                                  even on a loaded machine under ASan */

static lplug_engine *engine_with(support_log *log, size_t memory,
                                 long long instructions, long long time) {
  lplug_config config = {0};
  lplug_engine *e;
  support_config(log, &config);
  config.memory_limit = memory;
  config.instruction_limit = instructions;
  config.time_limit = time;
  e = lplug_engine_new(&config);
  assert_non_null(e);
  return e;
}

static int setup_deadline(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->e = engine_with(&f->log, 256 * 1024, 0, 100 * MS);
  f->root = support_tmpdir();
  *state = f;
  return 0;
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The call ended with the time-limit error, within BOUND_NS, and the
** plugin's stats say so. */
static void expect_time_stop(fixture *f, const char *body) {
  lplug_stats st;
  char name[32];
  long long t0 = now_ns(), spent;
  expect_error(f, body, LPLUG_ECPU, "time limit of 100 ms passed in hook 't' "
               "at p");
  spent = now_ns() - t0;
  if (spent >= BOUND_NS) print_error("took %lld ms\n", spent / MS);
  assert_true(spent < BOUND_NS);
  snprintf(name, sizeof name, "p%d", f->n);
  assert_int_equal(lplug_plugin_stats(f->e, name, &st), LPLUG_OK);
  assert_int_equal(st.cpu_errors, 1);
  assert_int_equal(st.time_limit, 100 * MS);
}

/* {======================================================================
** The hostile cases of test_limits.c, in deadline mode
** ======================================================================= */

static void deadline_infinite_loop_is_stopped(void **state) {
  fixture *f = *state;
  lplug_stats st;
  expect_time_stop(f, "while true do end");
  assert_non_null(strstr(f->log.last_message, "/init.lua:3 (the host's limit: "
                         "lplug_config.time_limit or limits.time in "
                         "lplug.yaml; plugin.yaml sets none and could only "
                         "lower it)"));
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  assert_int_equal(st.instruction_limit, 0);  /* deadline mode */
}

static void deadline_loop_in_pcall_cannot_catch_the_stop(void **state) {
  expect_time_stop(*state,
    "while true do pcall(function() while true do end end) end");
}

static void deadline_error_handler_of_xpcall_cannot_loop(void **state) {
  expect_time_stop(*state,
    "xpcall(function() while true do end end,\n"
    "       function() while true do end end)");
}

static void deadline_loop_in_coroutine_is_stopped(void **state) {
  expect_time_stop(*state,
    "local co = coroutine.create(function() while true do end end)\n"
    "while true do coroutine.resume(co) end");
}

static void deadline_loop_in_wrapped_coroutine_is_stopped(void **state) {
  expect_time_stop(*state,
    "local f = coroutine.wrap(function() while true do end end)\n"
    "while true do pcall(f) end");
}

static void deadline_many_short_resumes_are_stopped(void **state) {
  expect_time_stop(*state,
    "local co = coroutine.wrap(function()\n"
    "  while true do for i = 1, 50 do end coroutine.yield() end\n"
    "end)\n"
    "while true do co() end");
}

static void deadline_nested_coroutines_are_stopped(void **state) {
  expect_time_stop(*state,
    "local function spin(n)\n"
    "  if n == 0 then while true do end end\n"
    "  local co = coroutine.wrap(spin)\n"
    "  while true do pcall(co, n - 1) end\n"
    "end\n"
    "spin(5)");
}

static void deadline_loop_in_close_handler_is_stopped(void **state) {
  expect_time_stop(*state,
    "local x <close> = setmetatable({}, { __close = function()\n"
    "  while true do end end })\n"
    "while true do end");
}

static void deadline_loop_in_close_handler_of_a_closed_coroutine_is_stopped(
    void **state) {
  /* coroutine.close runs the handler on the coroutine's own thread: that
  ** thread is the one the late signal must arm. */
  expect_time_stop(*state,
    "local co = coroutine.create(function()\n"
    "  local x <close> = setmetatable({}, { __close = function()\n"
    "    while true do end end })\n"
    "  coroutine.yield()\n"
    "end)\n"
    "coroutine.resume(co)\n"
    "coroutine.close(co)");
}

static void deadline_coroutine_close_after_a_kill_is_refused(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  expect_time_stop(f,
    "if KEEP then\n"
    "  local ok, err = pcall(coroutine.close, KEEP)\n"
    "  assert(not ok and err:find('stopped by a limit'), err)\n"
    "  return 'refused'\n"
    "end\n"
    "KEEP = coroutine.create(function()\n"
    "  local x <close> = setmetatable({}, { __close = function()\n"
    "    while true do end end })\n"
    "  while true do end\n"
    "end)\n"
    "coroutine.resume(KEEP)");
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "refused");
  lplug_value_free(v);
}

static void deadline_wrapped_coroutine_killed_is_not_closed(void **state) {
  expect_time_stop(*state,
    "local f = coroutine.wrap(function()\n"
    "  local x <close> = setmetatable({}, { __close = function()\n"
    "    while true do end end })\n"
    "  while true do end\n"
    "end)\n"
    "f()");
}

static void deadline_gc_finalizer_cannot_be_installed(void **state) {
  expect_error(*state,
    "setmetatable({}, { __gc = function() while true do end end })",
    LPLUG_ERUNTIME, "'__gc' is not allowed");
}

static void deadline_error_objects_with_metamethods_are_not_run(
    void **state) {
  expect_error(*state,
    "error(setmetatable({}, { __tostring = function() while true do end end,\n"
    "                         __index = function() while true do end end }))",
    LPLUG_ERUNTIME, "(error object is a table value)");
}

static void deadline_raising_error_objects_in_a_loop_is_stopped(
    void **state) {
  expect_time_stop(*state,
    "local e = setmetatable({}, { __tostring = function() while true do end "
    "end })\n"
    "while true do pcall(error, e) end");
}

typedef struct deep { fixture *f; int rc; long long spent; } deep;

static void *run_deep(void *arg) {
  deep *d = arg;
  long long t0 = now_ns();
  /* Each level catches the C-stack overflow below it: 2^200 calls. */
  d->rc = eval(d->f, "local function f() pcall(f) pcall(f) end\nf()", NULL);
  d->spent = now_ns() - t0;
  return NULL;
}

static void deadline_recursion_is_stopped(void **state) {
  /* Run on a thread whose stack is mapped whole: valgrind cannot grow the
  ** main thread's stack while it delivers a signal. */
  deep d = {*state, 0, 0};
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 8u * 1024 * 1024);
  assert_int_equal(pthread_create(&t, &attr, run_deep, &d), 0);
  pthread_join(t, NULL);
  pthread_attr_destroy(&attr);
  if (d.rc != LPLUG_ECPU) print_error("%s\n", d.f->log.last_message);
  assert_int_equal(d.rc, LPLUG_ECPU);
  assert_true(d.spent < BOUND_NS);
  assert_non_null(strstr(d.f->log.last_message, "time limit of 100 ms passed "
                                                "in hook 't' at p1/init.lua"));
}

/* The soft refusal (alloc.c) works without a count hook between calls:
** garbage is collected before an allocation is refused for good, and a
** refusal nobody tries again still ends the call with the memory error. */
static void deadline_garbage_is_collected_before_the_limit_stops_a_call(
    void **state) {
  fixture *f = *state;
  expect_ok(f,
    "local keep = {}\n"
    "for i = 1, 2000 do keep[i] = 'kept and some text ' .. i end\n"
    "local n = 0\n"
    "for i = 1, 1000 do n = n + #(keep[i % 2000 + 1] .. ' line ' .. i) end\n"
    "return n");
  expect_error(f, "return pcall(string.rep, 'x', 1000000)", LPLUG_EMEM,
               "memory budget of 256 KB exhausted in hook 't' at p2/init.lua:3");
}

static void deadline_main_chunk_runs_under_the_deadline(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "spin", NULL, "while true do end");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_ECPU);
  assert_non_null(strstr(lplug_errmsg(f->e), "time limit of 100 ms passed in "
                                             "loading at spin/init.lua:1"));
  assert_int_equal(lplug_plugin_count(f->e), 0);
  free(a);
}

/* }====================================================================== */

static void deadline_fast_calls_are_never_stopped(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  int i;
  assert_int_equal(eval(f, "local s = 0 for i = 1, 100 do s = s + i end\n"
                           "return s", v), LPLUG_OK);
  for (i = 0; i < 2000; i++)
    assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_int_equal(lplug_value_integer(v, 0, NULL), 5050);
  assert_int_equal(f->log.errors, 0);
  lplug_value_free(v);
}

static void deadline_call_is_never_stopped_before_its_limit(void **state) {
  /* The watchdog starts a call's clock when it first sees the call, never
  ** before it began: calls running 60 ms of their 100, back to back (each
  ** starting soon after the last one's clock), all finish. */
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  int i;
  char *a = support_plugin(f->root, "slow",
    "name: slow\nversion: 1.0.0\ncapabilities: { hooks: ['*'], time: {} }\n",
    "local time = require 'lplug.time'\n"
    "require('lplug.hooks').on('t', function()\n"
    "  local t0 = time.monotonic()\n"
    "  while time.monotonic() - t0 < 0.06 do end\n"
    "end)");
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  for (i = 0; i < 3; i++)
    assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_int_equal(f->log.errors, 0);
  lplug_value_free(v);
  free(a);
}

static void deadline_call_after_a_stop_works_and_keeps_the_state(
    void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  lplug_stats st;
  assert_int_equal(eval(f,
    "N = (N or 0) + 1\n"
    "if N == 1 then while true do end end\n"
    "return N", v), LPLUG_ECPU);
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_int_equal(lplug_value_integer(v, 0, NULL), 2);  /* N was kept */
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_int_equal(lplug_value_integer(v, 0, NULL), 3);
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  assert_int_equal(st.cpu_errors, 1);
  assert_int_equal(st.calls, 4);  /* loading and three runs */
  lplug_value_free(v);
}

static void deadline_is_kept_after_the_watchdog_slept(void **state) {
  /* After a period with no call the watchdog sleeps until a call wakes
  ** it; the first call after that must still be watched. */
  fixture *f = *state;
  struct timespec pause = {0, 60 * MS};
  lplug_value *v = lplug_value_new();
  int i;
  assert_int_equal(eval(f, "N = (N or 0) + 1\n"
                           "if N % 2 == 0 then while true do end end", v),
                   LPLUG_OK);
  for (i = 0; i < 3; i++) {
    long long t0;
    nanosleep(&pause, NULL);
    t0 = now_ns();
    assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_ECPU);
    assert_true(now_ns() - t0 < BOUND_NS);
    assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  }
  lplug_value_free(v);
}

static void deadline_mode_counts_no_instructions(void **state) {
  fixture *f = *state;
  lplug_stats st;
  expect_ok(f, "for i = 1, 100000 do end");
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  /* no count hook ran: the loop's 100,000 instructions are not counted */
  assert_true(st.instructions < 1000);
}

static void deadline_limits_time_in_manifest_is_parsed(void **state) {
  static const struct { const char *text; long long ns; } ok[] = {
    {"50ms", 50 * MS}, {"2s", 2000 * MS}, {"500us", 500000}, {"7ns", 7},
    {"10 ms", 10 * MS}
  };
  static const char *const bad[] = {"50", "0ms", "5m", "ms", "-1s", "1.5s",
                                    "99999999999999999s"};
  long long ns;
  size_t i;
  for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_true(manifest_parse_time(ok[i].text, &ns));
    assert_int_equal(ns, ok[i].ns);
  }
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(manifest_parse_time(bad[i], &ns));
}

static void deadline_manifest_may_lower_but_not_raise_time(void **state) {
  fixture *f = *state;
  lplug_stats st;
  char *a = support_plugin(f->root, "lower",
    "name: lower\nversion: 1.0.0\nlimits:\n  time: 50ms\n", "");
  char *b = support_plugin(f->root, "greedy",
    "name: greedy\nversion: 1.0.0\nlimits:\n  time: 2s\n", "");
  char *c = support_plugin(f->root, "typo",
    "name: typo\nversion: 1.0.0\nlimits:\n  time: 50\n", "");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(f->e, "lower", &st), LPLUG_OK);
  assert_int_equal(st.time_limit, 50 * MS);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_EMANIFEST);
  assert_non_null(strstr(lplug_errmsg(f->e),
    "greedy/plugin.yaml:4:9: limits.time: 2 s is over the host's ceiling of "
    "100 ms (ask for at most that)"));
  assert_int_equal(lplug_load_plugin(f->e, c), LPLUG_EMANIFEST);
  assert_non_null(strstr(lplug_errmsg(f->e),
    "typo/plugin.yaml:4:9: limits.time: '50' is not a duration (e.g. 50ms, "
    "2s, 500us)"));
  free(a);
  free(b);
  free(c);
}

static void deadline_stop_names_the_plugins_own_limit(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  char *a = support_plugin(f->root, "quick",
    "name: quick\nversion: 1.0.0\ncapabilities: { hooks: ['*'] }\n"
    "limits: { time: 20ms }\n",
    "require('lplug.hooks').on('t', function() while true do end end)");
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_ECPU);
  assert_non_null(strstr(f->log.last_message, "plugin 'quick': time limit "
    "of 20 ms passed in hook 't' at quick/init.lua:1 (limits.time in "
    "plugin.yaml; the host allows at most 100 ms)"));
  lplug_value_free(v);
  free(a);
}

static void deadline_host_file_sets_time(void **state) {
  fixture *f = *state;
  char path[4200], err[512] = "";
  lplug_host *h = NULL;
  lplug_config c;
  memset(&c, 0, sizeof c);
  support_write(f->root, "lplug.yaml", "limits: { time: 50ms }\n");
  snprintf(path, sizeof path, "%s/lplug.yaml", f->root);
  assert_int_equal(lplug_host_load(path, &h, err, sizeof err), LPLUG_OK);
  lplug_host_configure(h, &c);
  assert_int_equal(c.time_limit, 50 * MS);
  assert_int_equal(c.instruction_limit, 0);  /* so: deadline mode */
  lplug_host_free(h);
  support_write(f->root, "lplug.yaml", "limits: { time: soon }\n");
  assert_int_equal(lplug_host_load(path, &h, err, sizeof err),
                   LPLUG_EMANIFEST);
  assert_non_null(strstr(err, "lplug.yaml:1:17: limits.time: not a duration "
                              "(e.g. 50ms, 2s)"));
}

/* {======================================================================
** Modes: instructions, time, both
** ======================================================================= */

static void deadline_and_instruction_limit_both_apply(void **state) {
  fixture *f = *state;
  lplug_engine *both;
  lplug_stats st;
  /* instructions run out first */
  lplug_engine_free(f->e);
  f->e = engine_with(&f->log, 256 * 1024, 200000, 10000 * MS);
  expect_error(f, "while true do end", LPLUG_ECPU,
               "instruction budget of 200000 spent");
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  assert_int_equal(st.time_limit, 10000 * MS);
  /* time runs out first, with the count hook running */
  both = engine_with(&f->log, 256 * 1024, 1000000000000LL, 100 * MS);
  lplug_engine_free(f->e);
  f->e = both;
  expect_time_stop(f, "while true do end");
}

static void deadline_manifest_may_add_a_time_limit(void **state) {
  /* A host in instruction mode sets no time limit: a plugin may still
  ** ask for one, and then has both. */
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  lplug_stats st;
  char *a = support_plugin(f->root, "careful",
    "name: careful\nversion: 1.0.0\ncapabilities: { hooks: ['*'] }\n"
    "limits: { time: 100ms }\n",
    "require('lplug.hooks').on('t', function() while true do end end)");
  lplug_engine_free(f->e);
  f->e = engine_with(&f->log, 256 * 1024, 1000000000000LL, 0);
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(f->e, "careful", &st), LPLUG_OK);
  assert_int_equal(st.time_limit, 100 * MS);
  assert_int_equal(st.instruction_limit, 1000000000000LL);
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_ECPU);
  assert_non_null(strstr(f->log.last_message, "time limit of 100 ms passed in "
    "hook 't' at careful/init.lua:1 (limits.time in plugin.yaml; the host "
    "sets no time limit)"));
  lplug_value_free(v);
  free(a);
}

static void deadline_manifest_may_add_an_instruction_limit(void **state) {
  fixture *f = *state;
  lplug_stats st;
  char *a = support_plugin(f->root, "counted",
    "name: counted\nversion: 1.0.0\nlimits: { instructions: 5000 }\n", "");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(f->e, "counted", &st), LPLUG_OK);
  assert_int_equal(st.instruction_limit, 5000);
  assert_int_equal(st.time_limit, 100 * MS);
  free(a);
}

/* }====================================================================== */

/* {======================================================================
** Several plugins, nested calls, several threads
** ======================================================================= */

static void deadline_several_plugins_each_get_their_own(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  const char *names[] = {"hog1", "fine", "hog2"};
  int i;
  lplug_hook_define(f->e, "t", 0, NULL);  /* fail-open */
  for (i = 0; i < 3; i++) {
    char *dir = support_plugin(f->root, names[i], NULL, i == 1 ?
      "require('lplug.hooks').on('t', function(v) return (v or 0) + 1 end)" :
      "require('lplug.hooks').on('t', function(v) while true do end end)");
    assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
    free(dir);
  }
  for (i = 0; i < 3; i++)
    assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_int_equal(lplug_value_integer(v, 0, NULL), 3);
  assert_int_equal(f->log.errors, 6);
  lplug_value_free(v);
}

/* A host log sink that runs hook "inner" when a plugin prints "nest". */
static lplug_engine *nest_engine;
static int nest_rc;
static void nest_log(void *ud, int level, const char *plugin,
                     const char *message) {
  (void)ud; (void)level; (void)plugin;
  if (strcmp(message, "nest") == 0) {
    lplug_value *v = lplug_value_new();
    nest_rc = lplug_hook_run(nest_engine, "inner", v);
    lplug_value_free(v);
  }
}

static void nest(fixture *f, const char *outer_time, const char *outer_lua,
                 const char *inner_time, const char *inner_lua) {
  lplug_config c = {0};
  char ya[256], yb[256];
  char *a, *b;
  snprintf(ya, sizeof ya, "name: outer\nversion: 1.0.0\ncapabilities: "
           "{ hooks: ['*'] }\nlimits: { time: %s }\n", outer_time);
  snprintf(yb, sizeof yb, "name: inner\nversion: 1.0.0\ncapabilities: "
           "{ hooks: ['*'] }\nlimits: { time: %s }\n", inner_time);
  a = support_plugin(f->root, "outer", ya, outer_lua);
  b = support_plugin(f->root, "inner", yb, inner_lua);
  lplug_engine_free(f->e);
  support_config(&f->log, &c);
  c.memory_limit = 256 * 1024;
  c.time_limit = 2000 * MS;
  c.on_log = nest_log;
  f->e = nest_engine = lplug_engine_new(&c);
  assert_non_null(f->e);
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(f->e, "inner", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_OK);
  free(a);
  free(b);
}

static void deadline_nested_call_is_stopped_alone(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  nest(f, "500ms",
       "require('lplug.hooks').on('t', function()\n"
       "  print('nest') return 'outer done' end)",
       "20ms",
       "require('lplug.hooks').on('inner', function() while true do end end)");
  nest_rc = LPLUG_OK;
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "outer done");
  assert_int_equal(nest_rc, LPLUG_ECPU);
  assert_string_equal(f->log.last_plugin, "inner");
  assert_non_null(strstr(f->log.last_message, "time limit of 20 ms passed "
                                              "in hook 'inner'"));
  lplug_value_free(v);
}

static void deadline_of_outer_call_counts_nested_calls(void **state) {
  /* The outer call's own code takes half its limit, but its deadline
  ** passes while the inner one runs: it stops once it runs Lua again.  The
  ** inner call runs long (0.3 s) so that a watchdog slowed down a
  ** hundredfold, as under valgrind, still sees the outer deadline pass. */
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  nest(f, "20ms",
       "require('lplug.hooks').on('t', function()\n"
       "  print('nest')\n"
       "  local t = os.clock() while os.clock() - t < 0.01 do end\n"
       "  return 'outer done'\n"
       "end)",
       "2s",
       "require('lplug.hooks').on('inner', function()\n"
       "  local t = os.clock() while os.clock() - t < 0.3 do end\n"
       "  return 'inner done'\n"
       "end)");
  nest_rc = -1;
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_ECPU);
  assert_int_equal(nest_rc, LPLUG_OK);
  assert_string_equal(f->log.last_plugin, "outer");
  assert_non_null(strstr(f->log.last_message, "time limit of 20 ms passed in "
                         "hook 't' at outer/init.lua:"));
  lplug_value_free(v);
}

static void deadline_call_back_into_a_running_plugin_is_refused(
    void **state) {
  /* It would reset the outer call's limits (and lose the thread a late
  ** signal must arm). */
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  nest(f, "500ms",
       "local hooks = require 'lplug.hooks'\n"
       "hooks.on('t', function() print('nest') return 'outer done' end)\n"
       "hooks.on('inner', function() return 'reentered' end)",
       "500ms", "");
  nest_rc = LPLUG_OK;
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "outer done");
  assert_int_equal(nest_rc, LPLUG_ESTATE);
  assert_non_null(strstr(f->log.last_message, "plugin 'outer': error in hook "
    "'inner': the plugin is already running (a host callback called back "
    "into it)"));
  lplug_value_free(v);
}

/* A host log sink that, when plugin k prints "deeper", runs hook
** "h<k+1>": calls nest one plugin deeper each time. */
#define CHAIN (WATCHDOG_DEPTH + 2)
static lplug_engine *chain_engine;
static int chain_rc[CHAIN];
static char chain_message[1024];

static void chain_log(void *ud, int level, const char *plugin,
                      const char *message) {
  support_log *log = ud;
  int k;
  (void)level;
  if (strcmp(message, "deeper") == 0 && sscanf(plugin, "c%d", &k) == 1 &&
      k + 1 < CHAIN) {
    char hook[16];
    lplug_value *v = lplug_value_new();
    snprintf(hook, sizeof hook, "h%d", k + 1);
    chain_rc[k + 1] = lplug_hook_run(chain_engine, hook, v);
    if (chain_rc[k + 1] != LPLUG_OK && chain_message[0] == '\0')
      snprintf(chain_message, sizeof chain_message, "%s", log->last_message);
    lplug_value_free(v);
  }
}

static void deadline_calls_nested_past_the_watchdog_depth_are_refused(
    void **state) {
  /* Plugin c<k> runs in hook h<k> and asks for h<k+1>: the call past
  ** WATCHDOG_DEPTH calls with a time limit is refused, saying why, and
  ** the ones around it go on. */
  fixture *f = *state;
  lplug_config c = {0};
  lplug_value *v = lplug_value_new();
  char name[16], hook[16], yaml[256], lua[256], want[256], *dir;
  int k;
  lplug_engine_free(f->e);
  support_config(&f->log, &c);
  c.memory_limit = 256 * 1024;
  c.time_limit = 2000 * MS;
  c.on_log = chain_log;
  f->e = chain_engine = lplug_engine_new(&c);
  assert_non_null(f->e);
  for (k = 0; k < CHAIN; k++) {
    snprintf(name, sizeof name, "c%d", k);
    snprintf(hook, sizeof hook, "h%d", k);
    snprintf(yaml, sizeof yaml, "name: %s\nversion: 1.0.0\ncapabilities: "
             "{ hooks: ['*'] }\nlimits: { time: 1s }\n", name);
    snprintf(lua, sizeof lua, "require('lplug.hooks').on('%s', function()\n"
             "  print('deeper') return %d end)", hook, k);
    assert_int_equal(lplug_hook_define(f->e, hook, LPLUG_HOOK_FAIL_CLOSED,
                                       NULL), LPLUG_OK);
    dir = support_plugin(f->root, name, yaml, lua);
    assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
    free(dir);
    chain_rc[k] = -1;
  }
  chain_message[0] = '\0';
  assert_int_equal(lplug_hook_run(f->e, "h0", v), LPLUG_OK);
  assert_int_equal(lplug_value_integer(v, 0, NULL), 0);
  for (k = 1; k < WATCHDOG_DEPTH; k++)
    assert_int_equal(chain_rc[k], LPLUG_OK);
  assert_int_equal(chain_rc[WATCHDOG_DEPTH], LPLUG_ESTATE);
  assert_int_equal(chain_rc[WATCHDOG_DEPTH + 1], -1);  /* never asked */
  snprintf(want, sizeof want, "plugin 'c%d': error in hook 'h%d': calls into "
           "plugins with a time limit nested more than %d deep (a host "
           "callback calling into the engine again)", WATCHDOG_DEPTH,
           WATCHDOG_DEPTH, WATCHDOG_DEPTH);
  assert_string_equal(chain_message, want);
  lplug_value_free(v);
}

/* Each thread makes its own engine and runs a runaway plugin in it. */
typedef struct runner { char *root; int rc; long long spent; } runner;

static void *run_hog(void *arg) {
  runner *r = arg;
  support_log log;
  lplug_engine *e = engine_with(&log, 256 * 1024, 0, 100 * MS);
  long long t0 = now_ns();
  r->rc = support_eval(e, r->root, "hog", "while true do end", NULL);
  r->spent = now_ns() - t0;
  lplug_engine_free(e);
  return NULL;
}

static void deadline_engines_on_several_threads_stop_their_own(void **state) {
  fixture *f = *state;
  pthread_t t[3];
  runner r[3];
  int i;
  (void)f;
  for (i = 0; i < 3; i++) {
    r[i].root = support_tmpdir();
    assert_int_equal(pthread_create(&t[i], NULL, run_hog, &r[i]), 0);
  }
  for (i = 0; i < 3; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(r[i].rc, LPLUG_ECPU);
    assert_true(r[i].spent < BOUND_NS);
    support_rmtree(r[i].root);
    free(r[i].root);
  }
}

/* }====================================================================== */

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup_deadline, \
                                                fixture_teardown)
    T(deadline_infinite_loop_is_stopped),
    T(deadline_loop_in_pcall_cannot_catch_the_stop),
    T(deadline_error_handler_of_xpcall_cannot_loop),
    T(deadline_loop_in_coroutine_is_stopped),
    T(deadline_loop_in_wrapped_coroutine_is_stopped),
    T(deadline_many_short_resumes_are_stopped),
    T(deadline_nested_coroutines_are_stopped),
    T(deadline_loop_in_close_handler_is_stopped),
    T(deadline_loop_in_close_handler_of_a_closed_coroutine_is_stopped),
    T(deadline_coroutine_close_after_a_kill_is_refused),
    T(deadline_wrapped_coroutine_killed_is_not_closed),
    T(deadline_gc_finalizer_cannot_be_installed),
    T(deadline_error_objects_with_metamethods_are_not_run),
    T(deadline_raising_error_objects_in_a_loop_is_stopped),
    T(deadline_recursion_is_stopped),
    T(deadline_garbage_is_collected_before_the_limit_stops_a_call),
    T(deadline_main_chunk_runs_under_the_deadline),
    T(deadline_fast_calls_are_never_stopped),
    T(deadline_call_is_never_stopped_before_its_limit),
    T(deadline_call_after_a_stop_works_and_keeps_the_state),
    T(deadline_is_kept_after_the_watchdog_slept),
    T(deadline_mode_counts_no_instructions),
    T(deadline_limits_time_in_manifest_is_parsed),
    T(deadline_manifest_may_lower_but_not_raise_time),
    T(deadline_stop_names_the_plugins_own_limit),
    T(deadline_host_file_sets_time),
    T(deadline_and_instruction_limit_both_apply),
    T(deadline_manifest_may_add_a_time_limit),
    T(deadline_manifest_may_add_an_instruction_limit),
    T(deadline_several_plugins_each_get_their_own),
    T(deadline_nested_call_is_stopped_alone),
    T(deadline_of_outer_call_counts_nested_calls),
    T(deadline_call_back_into_a_running_plugin_is_refused),
    T(deadline_calls_nested_past_the_watchdog_depth_are_refused),
    T(deadline_engines_on_several_threads_stop_their_own),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  /* A deadline that is not kept hangs its test: end the run instead. */
  alarm(120);
  return cmocka_run_group_tests_name("deadline", tests, NULL, NULL);
}
