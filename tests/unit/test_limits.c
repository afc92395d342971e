/*
** test_limits.c -- the instruction and memory budgets cannot be escaped,
** and one plugin hitting them leaves the host and the others running.
** The engine here allows 256 KB and 200,000 instructions per call.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include <lauxlib.h>

#include "fixture.h"
#include "sandbox/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#define LIMIT 200000LL

/* The call ended with the CPU error, charged no more than one block over
** the budget, and another plugin still answers. */
static void expect_cpu_stop(fixture *f, const char *body) {
  lplug_stats st;
  char name[32];
  expect_error(f, body, LPLUG_ECPU, "instruction budget of 200000 spent in "
               "hook 't' at p");
  snprintf(name, sizeof name, "p%d", f->n);
  assert_int_equal(lplug_plugin_stats(f->e, name, &st), LPLUG_OK);
  assert_int_equal(st.cpu_errors, 1);
  assert_true(st.instructions >= (unsigned long long)LIMIT);
  assert_true(st.instructions <= (unsigned long long)LIMIT + SANDBOX_BLOCK);
}

static void limits_infinite_loop_is_stopped(void **state) {
  fixture *f = *state;
  expect_cpu_stop(f, "while true do end");
  assert_non_null(strstr(f->log.last_message, "/init.lua:3 (the host's limit"));
}

static void limits_loop_in_pcall_cannot_catch_the_stop(void **state) {
  expect_cpu_stop(*state,
    "while true do pcall(function() while true do end end) end");
}

static void limits_error_handler_of_xpcall_cannot_loop(void **state) {
  expect_cpu_stop(*state,
    "xpcall(function() while true do end end,\n"
    "       function() while true do end end)");
}

static void limits_loop_in_coroutine_is_stopped(void **state) {
  expect_cpu_stop(*state,
    "local co = coroutine.create(function() while true do end end)\n"
    "while true do coroutine.resume(co) end");
}

static void limits_loop_in_wrapped_coroutine_is_stopped(void **state) {
  expect_cpu_stop(*state,
    "local f = coroutine.wrap(function() while true do end end)\n"
    "while true do pcall(f) end");
}

static void limits_many_short_resumes_are_charged(void **state) {
  expect_cpu_stop(*state,
    "local co = coroutine.wrap(function()\n"
    "  while true do for i = 1, 50 do end coroutine.yield() end\n"
    "end)\n"
    "while true do co() end");
}

static void limits_loop_in_close_handler_is_stopped(void **state) {
  expect_cpu_stop(*state,
    "local x <close> = setmetatable({}, { __close = function()\n"
    "  while true do end end })\n"
    "while true do end");
}

static void limits_coroutine_close_after_a_kill_is_refused(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  /* First call: a coroutine with a looping __close handler is killed by
  ** the budget while it runs.  Second call: closing it would run that
  ** handler with hooks off (Lua 5.4 leaves them off in a thread killed
  ** from a hook), so it must be refused. */
  expect_cpu_stop(f,
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

static void limits_wrapped_coroutine_killed_is_not_closed(void **state) {
  /* Lua's own wrap closes a coroutine that died, running its __close
  ** handlers; after a kill by the budget they would run unhooked. */
  expect_cpu_stop(*state,
    "local f = coroutine.wrap(function()\n"
    "  local x <close> = setmetatable({}, { __close = function()\n"
    "    while true do end end })\n"
    "  while true do end\n"
    "end)\n"
    "f()");
}

static void limits_gc_finalizer_cannot_be_installed(void **state) {
  expect_error(*state,
    "setmetatable({}, { __gc = function() while true do end end })",
    LPLUG_ERUNTIME, "'__gc' is not allowed");
}

static void limits_error_object_with_looping_tostring_is_not_run(
    void **state) {
  expect_error(*state,
    "error(setmetatable({}, { __tostring = function() while true do end end }))",
    LPLUG_ERUNTIME, "(error object is a table value)");
}

static void limits_table_bomb_hits_memory_limit(void **state) {
  fixture *f = *state;
  lplug_stats st;
  expect_error(f, "local t = {} for i = 1, 1e9 do t[i] = {i} end",
               LPLUG_EMEM, "memory budget of 256 KB exhausted in hook 't'");
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  assert_true(st.memory_peak <= 256 * 1024);
  assert_int_equal(st.memory_errors, 1);
}

static void limits_string_rep_bomb_hits_memory_limit(void **state) {
  expect_error(*state, "local s = string.rep('x', 1e8)", LPLUG_EMEM,
               "memory budget");
}

static void limits_concatenation_bomb_hits_memory_limit(void **state) {
  expect_error(*state, "local s = 'x' while true do s = s .. s end",
               LPLUG_EMEM, "memory budget");
}

/* Growing the Lua stack (deep recursion) past the limit is a memory
** error like any other, and the plugin's next call runs. */
static void limits_recursion_growing_the_stack_hits_memory_limit(
    void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(eval(f,
    "if not DONE then DONE = true\n"
    "  local function deeper(n) return 1 + deeper(n + 1) end\n"
    "  deeper(1)\n"
    "end\n"
    "return 'fine'", v), LPLUG_EMEM);
  assert_non_null(strstr(f->log.last_message, "memory budget of 256 KB"));
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "fine");
  lplug_value_free(v);
}

/* A memory error a pcall catches is said at the line whose allocation was
** refused, whatever was being made (a string, a string buffer, a table's
** hash part, a required file's text), not where the code went on after the
** pcall (body line 1 is init.lua:3). */
static void expect_memory_stop_at(fixture *f, const char *body,
                                  const char *where) {
  int rc = eval(f, body, NULL);
  if (rc != LPLUG_EMEM || strstr(f->log.last_message, where) == NULL)
    print_error("got %s: %s\nwanted EMEM at %s\n", lplug_errname(rc),
                f->log.last_message, where);
  assert_int_equal(rc, LPLUG_EMEM);
  assert_non_null(strstr(f->log.last_message, where));
}

static void limits_memory_stop_in_pcall_names_a_strings_line(void **state) {
  expect_memory_stop_at(*state,
    "pcall(function() local s = ('x'):rep(1000) while true do s = s .. s end end)\n"
    "local after = {}\n", "/init.lua:3 (the host's limit");
}

static void limits_memory_stop_in_pcall_names_a_buffers_line(void **state) {
  expect_memory_stop_at(*state,
    "pcall(string.rep, 'x', 1000000)\n"
    "local after = {}\n", "/init.lua:3 (the host's limit");
}

static void limits_memory_stop_in_pcall_names_a_tables_line(void **state) {
  expect_memory_stop_at(*state,
    "pcall(function() local t = {} for i = 1, 1e7 do t['k' .. i] = true end end)\n"
    "local after = {}\n", "/init.lua:3 (the host's limit");
}

static void limits_memory_stop_in_pcall_names_a_requires_line(void **state) {
  fixture *f = *state;
  size_t i;
  char *big = malloc(300 * 1024 + 1);
  assert_non_null(big);
  for (i = 0; i < 300 * 1024; i++) big[i] = i % 64 == 63 ? '\n' : '-';
  big[300 * 1024] = '\0';
  support_write(f->root, "p1/big.lua", big);  /* eval's plugin's folder */
  expect_memory_stop_at(f,
    "pcall(require, 'big')\n"
    "local after = {}\n", "/init.lua:3 (the host's limit");
  free(big);
}

static void limits_memory_error_caught_in_pcall_still_ends_the_call(
    void **state) {
  expect_error(*state,
    "local keep = {}\n"
    "while true do pcall(function() keep[#keep + 1] = string.rep('y', 4096) "
    "end) end",
    LPLUG_EMEM, "memory budget");
}

/* The limit is on what a plugin keeps, not on garbage the collector has
** not reached: a plugin holding about two thirds of its 256 KB makes
** strings it drops at once, and Lua collects them (an emergency collection)
** when an allocation would pass the limit.  (When the first refusal was
** final, this call ended with a memory error.) */
static void limits_garbage_is_collected_before_the_limit_stops_a_call(
    void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  lplug_stats st;
  assert_int_equal(eval(f,
    "local keep = {}\n"
    "for i = 1, 2000 do keep[i] = 'kept and some text ' .. i end\n"
    "local n = 0\n"
    "for i = 1, 1000 do n = n + #(keep[i % 2000 + 1] .. ' line ' .. i) end\n"
    "return n", v), LPLUG_OK);
  assert_true(lplug_value_integer(v, 0, NULL) > 1000 * 25);
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  assert_true(st.memory_peak <= 256 * 1024);
  assert_true(st.memory_peak > 160 * 1024);  /* kept that much, and more */
  assert_int_equal(st.memory_errors, 0);
  lplug_value_free(v);
}

/* Strings built in buffers get no second try from Lua; the sandbox
** collects the garbage before growing such a buffer past what fits.  Each
** builder alone: the plugin keeps about 230 KB of its 256 KB, and twelve
** rounds of results (up to 12 KB each) overflow it.  Each collection is
** charged a heap's worth (about 30,000 instructions), so this engine
** allows 2M instructions a call. */
static void expect_built_garbage_collected(fixture *f, const char *make) {
  char body[1024];
  support_log log;
  lplug_engine *e = support_engine(&log, 256 * 1024, 2000000);
  lplug_value *v = lplug_value_new();
  int rc;
  snprintf(body, sizeof body,
    "local big = ('x'):rep(6000)\n"
    "local pieces = {} for i = 1, 12 do pieces[i] = big:sub(1, 500 * i) end\n"
    "local keep = {}\n"
    "for i = 1, 2000 do keep[i] = 'kept and some text ' .. i end\n"
    "local n = 0\n"
    "for i = 1, 12 do n = n + #(%s) end\n"
    "return n", make);
  rc = support_eval(e, f->root, "built", body, v);
  if (rc != LPLUG_OK) print_error("%s: %s\n", make, log.last_message);
  assert_int_equal(rc, LPLUG_OK);
  assert_true(lplug_value_integer(v, 0, NULL) >= 12 * 5000);
  lplug_value_free(v);
  lplug_engine_free(e);
}

static void limits_garbage_does_not_count_for_built_strings_either(
    void **state) {
  expect_built_garbage_collected(*state, "('y'):rep(1000 * i)");
  expect_built_garbage_collected(*state, "big:upper()");
  expect_built_garbage_collected(*state, "table.concat({big, pieces[i]}, ',')");
  expect_built_garbage_collected(*state, "(big:gsub('x', 'y%0'))");
  expect_built_garbage_collected(*state, "('%s|%s'):format(big, pieces[i])");
}

/* The collection a buffer builder makes first (sandbox_make_room) is
** charged as collectgarbage("collect") is: string.upper called 300 times
** by a plugin within 6 KB of its limit makes it collect again and again,
** and the call's instruction count shows it: measured, 4.9M with the
** charge (a collection every other call, 32,000 each), 61,000 without. */
static void limits_buffer_room_collections_are_charged(void **state) {
  fixture *f = *state;
  support_log log;
  lplug_engine *e = support_engine(&log, 256 * 1024, 10000000);
  lplug_stats st;
  assert_int_equal(support_eval(e, f->root, "roomy",
    "local big = ('x'):rep(1500)\n"
    "local keep, n = nil, 0\n"
    "while collectgarbage('count') < (256 * 1024 - 6000) / 1024 do\n"
    "  n = n + 1 keep = {keep, n}\n"
    "end\n"
    "for i = 1, 300 do local u = big:upper() end", NULL), LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(e, "roomy", &st), LPLUG_OK);
  if (st.instructions < 150000)
    print_error("%llu instructions\n", (unsigned long long)st.instructions);
  assert_true(st.instructions >= 150000);
  lplug_engine_free(e);
}

/* A plugin keeping its heap at the limit makes Lua collect the whole heap
** every few allocations; each such collection is charged a heap's worth
** of instructions (as collectgarbage("collect") is), and one the budget
** cannot pay for is not made: the call ends after a few collections, not
** thousands. */
static void limits_emergency_collections_are_charged(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  const char *body =
    "if ROUNDS then return ROUNDS end\n"
    "local keep, n = nil, 0\n"
    "while collectgarbage('count') < 250 do n = n + 1 keep = {keep, n} end\n"
    "ROUNDS = 0\n"
    "while true do ROUNDS = ROUNDS + 1 local s = ('g'):rep(300) .. n end";
  int rc = eval(f, body, NULL);
  /* EMEM at the collection the budget cannot pay for; ECPU would be the
  ** budget running out between two collections: either bounds them. */
  if (rc != LPLUG_EMEM) assert_int_equal(rc, LPLUG_ECPU);
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  /* Each round makes about 600 bytes of garbage in about 10 instructions,
  ** so the room left fills every few rounds; with the collections
  ** uncharged, the budget lasted past the bound below. */
  if (lplug_value_integer(v, 0, NULL) >= 1000)
    print_error("%lld rounds\n", lplug_value_integer(v, 0, NULL));
  assert_true(lplug_value_integer(v, 0, NULL) > 0);
  assert_true(lplug_value_integer(v, 0, NULL) < 1000);
  lplug_value_free(v);
}

/* Instructions 100 calls charge a plugin that keeps about half of a
** 512 KB limit and makes 45 KB of garbage per call, under a memory limit
** of `limit`. */
static unsigned long long churn_instructions(fixture *f, const char *name,
                                             size_t limit) {
  support_log log;
  lplug_engine *e = support_engine(&log, limit, 10000000);
  lplug_value *v = lplug_value_new();
  lplug_stats st;
  int i;
  assert_int_equal(support_eval(e, f->root, name,
    "if not KEEP then\n"
    "  KEEP = {} for i = 1, 3000 do KEEP[i] = 'kept and some text ' .. i end\n"
    "end\n"
    "local line, n = 'a log line of moderate length with number 1', 0\n"
    "for i = 1, 300 do n = n + #(line:upper() .. i .. KEEP[i]) end\n"
    "return n", v), LPLUG_OK);
  for (i = 0; i < 100; i++)
    assert_int_equal(lplug_hook_run(e, "t", v), LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(e, name, &st), LPLUG_OK);
  assert_true(st.memory_peak <= limit);
  lplug_value_free(v);
  lplug_engine_free(e);
  return st.instructions;
}

/* With Lua's pause the heap grows to twice what is live before a cycle,
** so a plugin holding about half its limit met it every few calls, each
** time a charged full collection: measured, 1.67M instructions for the
** 100 calls, against 0.29M under a limit it never meets.  The collector
** is fitted to the limit after the first ones: 0.42M. */
static void limits_collector_is_fitted_to_the_limit(void **state) {
  unsigned long long tight = churn_instructions(*state, "tight", 512 * 1024);
  unsigned long long roomy =
      churn_instructions(*state, "roomy", 16 * 1024 * 1024);
  /* A few emergency collections until the fit takes, 64,000 each. */
  if (tight > roomy + 4 * 65536)
    print_error("%llu instructions against %llu\n", tight, roomy);
  assert_true(tight <= roomy + 4 * 65536);
}

/* A string buffer's growth (string.rep here) raises "not enough memory"
** itself, with no second try after a collection.  Caught by a pcall and
** returned in a tail call, no instruction runs after it; the call still
** ends with the memory stop, said at the refused line.  In a coroutine
** too (said where the coroutine's function begins: its position is not
** saved before a call from it fails). */
static void limits_refusal_without_a_second_try_is_final(void **state) {
  expect_memory_stop_at(*state,
    "return pcall(string.rep, 'x', 1000000)", "/init.lua:3 (the host's limit");
  expect_memory_stop_at(*state,
    "local co = coroutine.wrap(function()\n"
    "  local ok = pcall(string.rep, 'x', 1000000) return ok end)\n"
    "return co()", "/init.lua:");
  /* The wrapper adds the position to the error (an allocation that is not
  ** the second try) before the pcall catches it. */
  expect_memory_stop_at(*state,
    "local ok = pcall(coroutine.wrap(string.rep), 'x', 1000000)\n"
    "local after = {}\n"
    "return ok", "/init.lua:");
}

static void limits_plugin_raising_memory_text_is_a_runtime_error(
    void **state) {
  expect_error(*state, "error('not enough memory')", LPLUG_ERUNTIME,
               "not enough memory");
}

static void limits_plugin_recovers_after_memory_error(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  lplug_stats st;
  assert_int_equal(eval(f,
    "if not DONE then DONE = true\n"
    "  local t = {} for i = 1, 1e9 do t[i] = {i} end\n"
    "end\n"
    "return 'fine'", v), LPLUG_EMEM);
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "fine");
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  assert_true(st.memory < 64 * 1024);  /* the garbage was collected */
  lplug_value_free(v);
}

static void limits_other_plugins_keep_running(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  lplug_hook_define(f->e, "t", 0, NULL);  /* fail-open */
  char *a = support_plugin(f->root, "hog", NULL,
    "require('lplug.hooks').on('t', function() while true do end end,\n"
    "                          { priority = 1 })");
  char *b = support_plugin(f->root, "fine", NULL,
    "require('lplug.hooks').on('t', function(v) return (v or 0) + 1 end)");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_OK);
  for (int i = 0; i < 3; i++) assert_int_equal(lplug_hook_run(f->e, "t", v),
                                               LPLUG_OK);
  assert_int_equal(lplug_value_integer(v, 0, NULL), 3);
  assert_int_equal(f->log.errors, 3);
  assert_string_equal(f->log.last_plugin, "hog");
  lplug_value_free(v);
  free(a);
  free(b);
}

static void limits_manifest_may_lower_but_not_raise_limits(void **state) {
  fixture *f = *state;
  lplug_stats st;
  char *a = support_plugin(f->root, "lower",
    "name: lower\nversion: 1.0.0\nlimits:\n  memory: 128KB\n"
    "  instructions: 5000\n", "");
  char *b = support_plugin(f->root, "greedy",
    "name: greedy\nversion: 1.0.0\nlimits:\n  memory: 8MB\n", "");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(f->e, "lower", &st), LPLUG_OK);
  assert_int_equal(st.memory_limit, 128 * 1024);
  assert_int_equal(st.instruction_limit, 5000);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_EMANIFEST);
  assert_non_null(strstr(lplug_errmsg(f->e),
    "plugin.yaml:4:11: limits.memory: 8 MB is over the host's ceiling of "
    "256 KB"));
  free(a);
  free(b);
}

/* A limit's error says where the limit was set: plugin.yaml's limits:
** when it set one, else the host's setting (a manifest without limits:
** was told to look at its limits.memory). */
static void limits_errors_say_where_the_limit_was_set(void **state) {
  fixture *f = *state;
  char *own = support_plugin(f->root, "own",
    "name: own\nversion: 1.0.0\ncapabilities:\n  hooks: [t]\n"
    "limits:\n  memory: 128KB\n  instructions: 100000\n",
    "require('lplug.hooks').on('t', function(v)\n"
    "  if v == 1 then while true do end end\n"
    "  local t = {} for i = 1, 1e9 do t[i] = {i} end\n"
    "end)\n");
  lplug_value *v = lplug_value_new();
  expect_error(f, "local t = {} for i = 1, 1e9 do t[i] = {i} end", LPLUG_EMEM,
               "at p1/init.lua:3 (the host's limit: lplug_config.memory_limit"
               " or limits.memory in lplug.yaml; plugin.yaml sets none and "
               "could only lower it)");
  assert_int_equal(lplug_plugin_unload(f->e, "p1"), LPLUG_OK);
  expect_error(f, "while true do end", LPLUG_ECPU,
               "at p2/init.lua:3 (the host's limit: "
               "lplug_config.instruction_limit or limits.instructions in "
               "lplug.yaml; plugin.yaml sets none and could only lower it)");
  assert_int_equal(lplug_plugin_unload(f->e, "p2"), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, own), LPLUG_OK);
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_EMEM);
  assert_non_null(strstr(f->log.last_message, "memory budget of 128 KB "
    "exhausted in hook 't' at own/init.lua:3 (limits.memory in plugin.yaml;"
    " the host allows at most 256 KB)"));
  lplug_value_free(v);
  v = NULL;
  assert_int_equal(lplug_value_from_json(NULL, "1", 1, &v), LPLUG_OK);
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_ECPU);
  assert_non_null(strstr(f->log.last_message, "instruction budget of 100000 "
    "spent in hook 't' at own/init.lua:2 (limits.instructions in "
    "plugin.yaml; the host allows at most 200000)"));
  lplug_value_free(v);
  free(own);
}

/* Memory spent while the engine passes the hook's value in (a 1 MB input
** line for 256 KB) is spent where no line of the plugin runs: the
** message said "at ?". */
static void limits_memory_spent_on_the_value_passed_in_says_so(void **state) {
  fixture *f = *state;
  char *big = malloc(1024 * 1024 + 1);
  lplug_value *v;
  assert_non_null(big);
  memset(big, 'x', 1024 * 1024);
  big[1024 * 1024] = '\0';
  v = support_record(big, 1);
  assert_int_equal(eval(f, "return v", v), LPLUG_EMEM);
  assert_non_null(strstr(f->log.last_message, "memory budget of 256 KB "
    "exhausted in hook 't' outside its Lua code, as the engine passed a "
    "value in or compiled a file (the host's limit"));
  lplug_value_free(v);
  free(big);
}

static void limits_main_chunk_runs_under_the_budget(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "spin", NULL, "while true do end");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_ECPU);
  assert_non_null(strstr(lplug_errmsg(f->e), "spent in loading at "
                                             "spin/init.lua:1"));
  assert_int_equal(lplug_plugin_count(f->e), 0);
  free(a);
}

/* A source file's text counts against the memory limit while it is read
** and compiled: 300 KB of comment compile to next to nothing, so only the
** text itself can pass the 256 KB limit.  A smaller file of the same kind
** loads, and the memory of either is given back. */
static void limits_source_text_counts_against_the_memory_limit(void **state) {
  fixture *f = *state;
  size_t i, n = 300 * 1024 / 16;
  char *big = malloc(n * 16 + 1), *a, *b;
  lplug_stats st;
  assert_non_null(big);
  for (i = 0; i < n; i++) memcpy(big + i * 16, "-- a comment...\n", 16);
  big[n * 16] = '\0';
  a = support_plugin(f->root, "big", NULL, big);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_EMEM);
  assert_non_null(strstr(lplug_errmsg(f->e), "memory budget of 256 KB"));
  assert_int_equal(lplug_plugin_count(f->e), 0);
  big[100 * 1024] = '\0';
  b = support_plugin(f->root, "smaller", NULL, big);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(f->e, "smaller", &st), LPLUG_OK);
  assert_true(st.memory_peak > 100 * 1024);  /* the text was counted */
  assert_true(st.memory < 64 * 1024);        /* and given back */
  free(a);
  free(b);
  free(big);
}

/* A value refused as too large has been copied up to the value limit
** first (70 references to one 60 KB string encode to 4 MB): the copying
** is charged whether the module takes the value or refuses it, so a plugin
** retrying in a loop is stopped after a few tries, not after the ten
** thousands its budget would allow for a cheap call. */
static void refused_value_costs_its_copying(fixture *f, const char *name,
                                            const char *caps,
                                            const char *call) {
  char yaml[512], lua[1024], *dir;
  lplug_value *v = lplug_value_new();
  int ok = 0;
  snprintf(yaml, sizeof yaml, "name: %s\nversion: 1.0.0\ncapabilities:\n"
           "  hooks: [t, count]\n  json: {}\n%s", name, caps);
  snprintf(lua, sizeof lua,
           "local hooks = require 'lplug.hooks'\n"
           "local json = require 'lplug.json'\n"
           "local events = %s\n"
           "local storage = %s\n"
           "local tries = 0\n"
           "hooks.on('t', function()\n"
           "  local s, t = ('x'):rep(60000), {}\n"
           "  for i = 1, 70 do t[i] = s end\n"
           "  while true do tries = tries + 1; pcall(%s, t) end\n"
           "end)\n"
           "hooks.on('count', function() return tries end)\n",
           strstr(caps, "events") ? "require 'lplug.events'" : "nil",
           strstr(caps, "storage") ? "require 'lplug.storage'" : "nil", call);
  dir = support_plugin(f->root, name, yaml, lua);
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(f->e, "count", LPLUG_HOOK_FAIL_CLOSED, NULL);
  if (lplug_load_plugin(f->e, dir) != LPLUG_OK)
    print_error("%s\n", lplug_errmsg(f->e));
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_ECPU);
  assert_int_equal(lplug_hook_run(f->e, "count", v), LPLUG_OK);
  if (lplug_value_integer(v, 0, &ok) > 10)
    print_error("%s: %lld tries\n", call, lplug_value_integer(v, 0, &ok));
  assert_true(ok && lplug_value_integer(v, 0, NULL) <= 10);
  assert_int_equal(lplug_plugin_unload(f->e, name), LPLUG_OK);
  lplug_value_free(v);
  free(dir);
}

static void limits_refused_values_are_charged_for_their_copying(
    void **state) {
  refused_value_costs_its_copying(*state, "json", "", "json.encode");
  refused_value_costs_its_copying(*state, "emit",
    "  events: { emit: [x] }\n", "function(t) return events.emit('x', t) end");
  refused_value_costs_its_copying(*state, "store", "  storage: {}\n",
    "function(t) return storage.set('k', t) end");
}

/* Registering a handler or a subscription is charged (the names it
** copies, a handler's place among the others): a loop of registrations
** turned off at once is stopped after a few thousand, not after the tens
** of thousands its Lua costs. */
static void registrations_cost(fixture *f, const char *name,
                               const char *register_one) {
  char yaml[256], lua[1024], *dir;
  lplug_value *v = lplug_value_new();
  int ok = 0;
  snprintf(yaml, sizeof yaml, "name: %s\nversion: 1.0.0\ncapabilities:\n"
           "  hooks: ['*']\n  events: { on: ['*'] }\n", name);
  snprintf(lua, sizeof lua,
    "local hooks = require 'lplug.hooks'\n"
    "local events = require 'lplug.events'\n"
    "local tries, f = 0, function() end\n"
    "hooks.on('t', function()\n"
    "  while true do tries = tries + 1; %s end\n"
    "end)\n"
    "hooks.on('count', function() return tries end)\n", register_one);
  dir = support_plugin(f->root, name, yaml, lua);
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(f->e, "other", 0, NULL);
  lplug_hook_define(f->e, "count", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_ECPU);
  assert_int_equal(lplug_hook_run(f->e, "count", v), LPLUG_OK);
  if (lplug_value_integer(v, 0, &ok) > 2000)
    print_error("%s: %lld registrations\n", name,
                lplug_value_integer(v, 0, &ok));
  assert_true(ok && lplug_value_integer(v, 0, NULL) <= 2000);
  assert_int_equal(lplug_plugin_unload(f->e, name), LPLUG_OK);
  lplug_value_free(v);
  free(dir);
}

static void limits_handler_registration_is_charged(void **state) {
  registrations_cost(*state, "handlers",
                     "hooks.on('other', f, { before = 'someone' }):off()");
  registrations_cost(*state, "subscriptions",
                     "events.on('a.b', f):off()");
}

static void limits_instructions_are_counted(void **state) {
  fixture *f = *state;
  lplug_stats st;
  expect_ok(f, "for i = 1, 10000 do end");
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  /* FORLOOP is one instruction a turn: 10,000 and a few, counted in
  ** blocks of 1000 (the last partial block of a call is not counted) */
  if (st.instructions < 9000 || st.instructions > 11000)
    print_error("instructions: %llu\n", st.instructions);
  assert_true(st.instructions >= 9000 && st.instructions <= 11000);
}

/* ---- instruction mode's wall-clock backstop (budget.c) ---------------- */

/* Each `<` of these strings is one VM instruction making one strcoll per
** NUL byte (about 0.4 ms here): 200,000 instructions of them run for
** about 20 s, and a 10M budget with 4 MB strings for hours. */
#define NUL_COMPARES \
  "local a = ('\\0'):rep(20000) .. 'a'\n" \
  "local b = ('\\0'):rep(20000) .. 'b'\n" \
  "while true do local _ = a < b end"

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void limits_backstop_stops_what_the_budget_does_not(void **state) {
  fixture *f = *state;
  lplug_stats st;
  long long took, t0 = now_ns();
  expect_error(f, NUL_COMPARES, LPLUG_ECPU, "time backstop of 5 s passed in "
               "hook 't' at p1/init.lua:5, before its instruction budget of "
               "200000 was spent");
  took = now_ns() - t0;
  assert_true(took >= 5000000000LL);   /* never early */
  assert_true(took < 60000000000LL);   /* generous: valgrind */
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  assert_int_equal(st.cpu_errors, 1);
  assert_true(st.instructions < (unsigned long long)LIMIT);
}

/* The backstop a plugin gets from an engine with these limits. */
static long long backstop_under(fixture *f, long long instructions,
                                long long time) {
  lplug_config c = {0};
  support_log log;
  lplug_engine *e;
  lplug_stats st;
  char name[32];
  c.instruction_limit = instructions;
  c.time_limit = time;
  c.grant = lplug_grant_declared;
  e = support_engine_with(&log, &c);
  snprintf(name, sizeof name, "p%d", ++f->n);
  assert_int_equal(support_eval(e, f->root, name, "return v", NULL),
                   LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(e, name, &st), LPLUG_OK);
  lplug_engine_free(e);
  return st.backstop;
}

static void limits_backstop_is_1us_per_instruction_at_least_5s(
    void **state) {
  fixture *f = *state;
  assert_int_equal(backstop_under(f, 0, 0), 10000000000LL);  /* 10M */
  assert_int_equal(backstop_under(f, 200000, 0), 5000000000LL);
  assert_int_equal(backstop_under(f, 30000000, 0), 30000000000LL);
  /* a deadline bounds the call instead; a negative time limit: none */
  assert_int_equal(backstop_under(f, 1000000, 50000000), 0);
  assert_int_equal(backstop_under(f, 1000000, -1), 0);
}

/* The host's log callback sleeps 5.5 s in the middle of a call that has
** run long enough to start the backstop's clock: that time is the host's,
** and the call, which does little else, is not stopped. */
static void sleepy_log(void *ud, int level, const char *plugin,
                       const char *message) {
  struct timespec ts = {5, 500000000L};
  (void)ud; (void)level; (void)plugin;
  if (strcmp(message, "sleep") == 0) nanosleep(&ts, NULL);
}

static void limits_backstop_does_not_count_the_hosts_time(void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  lplug_engine *e;
  char *dir;
  lplug_value *v;
  c.instruction_limit = 200000;   /* backstop 5 s */
  c.grant = lplug_grant_declared;
  c.on_log = sleepy_log;
  e = lplug_engine_new(&c);
  assert_non_null(e);
  assert_int_equal(lplug_hook_define(e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL),
                   LPLUG_OK);
  dir = support_plugin(f->root, "sleeper", NULL,
    "require('lplug.hooks').on('t', function()\n"
    "  for i = 1, 3000 do end\n"      /* the clock starts */
    "  print('sleep')\n"
    "  for i = 1, 3000 do end\n"      /* and is read again */
    "end)\n");
  v = lplug_value_new();
  assert_int_equal(lplug_load_plugin(e, dir), LPLUG_OK);
  if (lplug_hook_run(e, "t", v) != LPLUG_OK) fail_msg("%s", lplug_errmsg(e));
  lplug_value_free(v);
  lplug_engine_free(e);
  free(dir);
}

/* A deadline the plugin's manifest adds is the plugin's choice (it may ask
** for a day): the host's backstop stays. */
static void limits_manifest_deadline_keeps_the_backstop(void **state) {
  fixture *f = *state;
  lplug_stats st;
  char *dir = support_plugin(f->root, "slowpoke",
                             "name: slowpoke\nversion: 1.0.0\n"
                             "limits: { time: 86400s }\n", "");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(lplug_plugin_stats(f->e, "slowpoke", &st), LPLUG_OK);
  assert_int_equal(st.time_limit, 86400000000000LL);
  assert_int_equal(st.backstop, 5000000000LL);
  free(dir);
}

/* ---- the sandbox's own calls leave the stack as they found it --------- */

/* A state of its own (no engine), with a value under the calls so that a
** call dropping too much, or too little, shows in lua_gettop. */
static sandbox *bare_sandbox(void) {
  sandbox *sb = calloc(1, sizeof *sb);
  sandbox_config sc;
  char err[256];
  assert_non_null(sb);
  memset(&sc, 0, sizeof sc);
  sc.name = "bare";
  sc.dir = ".";
  sc.memory_limit = 256 * 1024;
  sc.instruction_limit = LIMIT;
  assert_int_equal(sandbox_open(sb, &sc, err, sizeof err), 0);
  lua_pushliteral(sb->L, "below the calls");
  return sb;
}

static void bare_free(sandbox *sb) {
  sandbox_close(sb);
  free(sb);
}

/* Pushes chunk `src` and one argument, calls it for two results. */
static int bare_call(sandbox *sb, const char *src) {
  assert_int_equal(luaL_loadstring(sb->L, src), LUA_OK);
  lua_pushinteger(sb->L, 7);
  return sandbox_pcall_pushed(sb, 1, 2);
}

static void limits_failed_calls_drop_exactly_what_they_left(void **state) {
  sandbox *sb = bare_sandbox();
  int top = lua_gettop(sb->L);
  (void)state;
  assert_int_equal(bare_call(sb, "local x = ... return x, x + 1"), LPLUG_OK);
  assert_int_equal(lua_gettop(sb->L), top + 2);   /* the results */
  assert_int_equal(lua_tointeger(sb->L, -1), 8);
  lua_settop(sb->L, top);
  assert_int_equal(bare_call(sb, "error('no')"), LPLUG_ERUNTIME);
  assert_int_equal(lua_gettop(sb->L), top);
  assert_int_equal(bare_call(sb, "while true do end"), LPLUG_ECPU);
  assert_int_equal(lua_gettop(sb->L), top);
  /* last: after a refusal nothing more fits until the next call begins */
  assert_int_equal(bare_call(sb, "local t = {} for i = 1, 1e7 do t[i] = i "
                               "end"), LPLUG_EMEM);
  assert_int_equal(lua_gettop(sb->L), top);
  assert_string_equal(lua_tostring(sb->L, top), "below the calls");
  bare_free(sb);
}

/* The backstop counts a call's instructions on every thread it runs:
** the same comparisons inside a coroutine (hooks every 100 instructions
** there) are stopped too.  50 ms here, set on the sandbox directly. */
static void limits_backstop_stops_a_coroutine(void **state) {
  sandbox *sb = bare_sandbox();
  long long took, t0;
  (void)state;
  sb->config.backstop = 50000000LL;
  t0 = now_ns();
  assert_int_equal(bare_call(sb, "coroutine.wrap(function()\n" NUL_COMPARES
                             "\nend)()"), LPLUG_ECPU);
  took = now_ns() - t0;
  assert_int_equal(sb->stop, SANDBOX_STOP_BACKSTOP);
  assert_true(took >= 50000000LL && took < 30000000000LL);
  bare_free(sb);
}

/* A coroutine that yields after a few slow instructions never reaches the
** end of its hook's block: each resume reads the backstop's clock (every
** tenth, by instructions charged), and this stops after some 20 resumes.
** Without that, the clock was read once per 1000 instructions of the main
** thread: 140 resumes and more. */
static void limits_backstop_sees_short_resumes(void **state) {
  sandbox *sb = bare_sandbox();
  (void)state;
  sb->config.backstop = 50000000LL;
  assert_int_equal(bare_call(sb,
    "local s = ('\\0'):rep(40000)\n"
    "local co = coroutine.wrap(function()\n"
    "  while true do\n"
    "    for i = 1, 8 do local _ = s < s end\n"
    "    coroutine.yield()\n"
    "  end\n"
    "end)\n"
    "resumes = 0\n"
    "while true do co() resumes = resumes + 1 end"), LPLUG_ECPU);
  assert_int_equal(sb->stop, SANDBOX_STOP_BACKSTOP);
  lua_getglobal(sb->L, "resumes");
  if (lua_tointeger(sb->L, -1) >= 120)
    fail_msg("stopped after %lld resumes", (long long)lua_tointeger(sb->L, -1));
  lua_pop(sb->L, 1);
  bare_free(sb);
}

/* A long C function pays for its work without the hook firing: it reads
** the backstop's clock as it pays.  One table.sort of 5000 references to
** two 20 KB strings of NUL bytes compares for seconds (each comparison
** charged 1250 instructions, under a budget it never spends). */
static void limits_backstop_stops_a_long_c_function(void **state) {
  sandbox *sb = bare_sandbox();
  long long took, t0;
  (void)state;
  sb->config.instruction_limit = 1000000000000LL;
  sb->config.backstop = 50000000LL;
  t0 = now_ns();
  assert_int_equal(bare_call(sb, "local s, t = ('\\0'):rep(20000), {}\n"
                             "local a, b = s .. 'a', s .. 'b'\n"
                             "for i = 1, 5000 do t[i] = i % 2 == 0 and a "
                             "or b end\n"
                             "table.sort(t)"), LPLUG_ECPU);
  took = now_ns() - t0;
  assert_int_equal(sb->stop, SANDBOX_STOP_BACKSTOP);
  if (took > 5000000000LL) fail_msg("stopped after %lld ms", took / 1000000);
  bare_free(sb);
}

/* A C function that stops its own call (as the allocator does when it
** refuses) and still returns normally: the call fails all the same, and
** its results are dropped. */
static int stop_and_return(lua_State *L) {
  budget_stop(sandbox_of(L), NULL, SANDBOX_STOP_CPU);
  lua_pushinteger(L, 1);
  lua_pushinteger(L, 2);
  return 2;
}

static void limits_stopped_call_that_returns_still_fails(void **state) {
  sandbox *sb = bare_sandbox();
  int top = lua_gettop(sb->L);
  (void)state;
  assert_int_equal(sandbox_pcall(sb, stop_and_return, NULL, 2), LPLUG_ECPU);
  assert_int_equal(lua_gettop(sb->L), top);
  lua_pushcfunction(sb->L, stop_and_return);
  assert_int_equal(sandbox_pcall_pushed(sb, 0, 2), LPLUG_ECPU);
  assert_int_equal(lua_gettop(sb->L), top);
  assert_string_equal(lua_tostring(sb->L, top), "below the calls");
  bare_free(sb);
}

/* Calls back into its own state, as a host callback might: refused, and
** what it pushed for the refused call is gone. */
static int call_again(lua_State *L) {
  sandbox *sb = sandbox_of(L);
  int top = lua_gettop(L);
  lua_pushcfunction(L, stop_and_return);
  lua_pushinteger(L, 1);
  lua_pushinteger(L, 2);
  lua_pushinteger(L, sandbox_pcall_pushed(sb, 2, 2));
  lua_pushinteger(L, lua_gettop(L) - 1 - top);  /* left by the refusal */
  return 2;
}

static void limits_reentered_call_is_refused_and_popped(void **state) {
  sandbox *sb = bare_sandbox();
  int top = lua_gettop(sb->L);
  (void)state;
  assert_int_equal(sandbox_pcall(sb, call_again, NULL, 2), LPLUG_OK);
  assert_int_equal(lua_tointeger(sb->L, -2), LPLUG_ESTATE);
  assert_int_equal(lua_tointeger(sb->L, -1), 0);
  assert_non_null(strstr(sandbox_message(sb), "already running"));
  lua_settop(sb->L, top);
  bare_free(sb);
}

/* ---- the allocator's arena of small blocks (alloc.c) ------------------- */

/* Writes n bytes of pattern k at p, and checks them. */
static void fill(void *p, size_t n, int k) {
  memset(p, 'a' + k, n);
}
static void expect_filled(const void *p, size_t n, int k) {
  size_t i;
  for (i = 0; i < n; i++) assert_int_equal(((const char *)p)[i], 'a' + k);
}

/* Every kind of resize -- within a class, between classes, out to malloc
** and back -- keeps the block's bytes, and the count ends where it began. */
static void check_resizes(sandbox *sb) {
  size_t before = sb->used;
  char *p = sandbox_alloc(sb, NULL, LUA_TSTRING, 20);
  char *q;
  assert_non_null(p);
  fill(p, 20, 0);
  q = sandbox_alloc(sb, p, 20, 30);            /* same 32-byte class */
  assert_ptr_equal(q, p);
  fill(q + 20, 10, 0);
  p = sandbox_alloc(sb, q, 30, 200);           /* another class */
  expect_filled(p, 30, 0);
  fill(p, 200, 1);
  p = sandbox_alloc(sb, p, 200, 5000);         /* out of the arena */
  expect_filled(p, 200, 1);
  fill(p, 5000, 2);
  p = sandbox_alloc(sb, p, 5000, 100);         /* back into it */
  expect_filled(p, 100, 2);
  assert_int_equal(sb->used, before + 100);
  assert_null(sandbox_alloc(sb, p, 100, 0));
  assert_int_equal(sb->used, before);
}

static void limits_blocks_keep_their_bytes_through_every_resize(
    void **state) {
  sandbox *sb = bare_sandbox();
  (void)state;
  check_resizes(sb);
  assert_false(sb->arena.full);
  bare_free(sb);
}

/* Churn of same-size garbage is served from the blocks freed before it:
** the arena stays near the state's live size, far below the limit. */
static void limits_freed_small_blocks_are_reused(void **state) {
  sandbox *sb = bare_sandbox();
  int i;
  (void)state;
  for (i = 0; i < 20; i++) {
    assert_int_equal(bare_call(sb, "for i = 1, 20000 do local t = { i } end "
                                   "collectgarbage() return 1, 2"), LPLUG_OK);
    lua_pop(sb->L, 2);
  }
  /* 20 x 20,000 tables of 56 bytes and their arrays: 36 MB made */
  assert_true(sb->arena.bytes <= 64 * 1024);
  bare_free(sb);
}

/* Attack: free lists are per size class, so a plugin that fills its limit
** with blocks of one size, drops them, and does the same with each other
** size would leave the arena holding its limit once per class.  The arena
** stops growing at the limit; past it small blocks come from malloc, and
** the state holds at most twice its limit. */
static void limits_mixing_sizes_cannot_grow_the_arena_past_the_limit(
    void **state) {
  sandbox *sb = bare_sandbox();
  int width;
  (void)state;
  for (width = 8; width <= 200; width += 16) {
    char src[256];
    snprintf(src, sizeof src,
             "local keep, pad = {}, string.rep('x', %d)\n"
             "for i = 1, 100000 // (#pad + 40) do keep[i] = pad .. i end\n"
             "keep = nil collectgarbage() return 1, 2", width);
    assert_int_equal(bare_call(sb, src), LPLUG_OK);
    lua_pop(sb->L, 2);
  }
  assert_true(sb->arena.full);
  assert_true(sb->arena.bytes <= sb->config.memory_limit + SANDBOX_SLACK);
  check_resizes(sb);  /* blocks in and out of the full arena still work */
  assert_int_equal(bare_call(sb, "local t = {} for i = 1, 1e7 do t[i] = "
                                 "tostring(i) end"), LPLUG_EMEM);
  bare_free(sb);
}

/* Under AddressSanitizer a small block is as exact as malloc's: the
** bytes past what Lua asked for, and a freed block, are poisoned, also
** after a resize in its class and when a freed block is handed out again.
** (ASan sees 8-byte granules: the sizes here end on one or inside one.) */
static void limits_sanitizers_see_each_small_block_exactly(void **state) {
#if defined(__SANITIZE_ADDRESS__)
  sandbox *sb = bare_sandbox();
  char *p = sandbox_alloc(sb, NULL, LUA_TSTRING, 24), *q, *tiny;
  (void)state;
  assert_non_null(p);
  assert_false(__asan_address_is_poisoned(p + 23));
  assert_true(__asan_address_is_poisoned(p + 24));
  assert_ptr_equal(sandbox_alloc(sb, p, 24, 32), p);  /* same class */
  assert_false(__asan_address_is_poisoned(p + 31));
  assert_ptr_equal(sandbox_alloc(sb, p, 32, 24), p);
  assert_true(__asan_address_is_poisoned(p + 24));
  assert_null(sandbox_alloc(sb, p, 24, 0));
  assert_true(__asan_address_is_poisoned(p));
  q = sandbox_alloc(sb, NULL, LUA_TSTRING, 20);  /* the freed block again */
  assert_ptr_equal(q, p);
  assert_false(__asan_address_is_poisoned(q + 19));
  assert_true(__asan_address_is_poisoned(q + 20));
  tiny = sandbox_alloc(sb, NULL, LUA_TSTRING, 5);  /* shorter than a link */
  assert_true(__asan_address_is_poisoned(tiny + 5));
  assert_null(sandbox_alloc(sb, tiny, 5, 0));
  assert_true(__asan_address_is_poisoned(tiny));
  assert_null(sandbox_alloc(sb, q, 20, 0));
  bare_free(sb);
#else
  (void)state;
  skip();  /* runs in make asan */
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup_small, \
                                                fixture_teardown)
    T(limits_infinite_loop_is_stopped),
    T(limits_loop_in_pcall_cannot_catch_the_stop),
    T(limits_error_handler_of_xpcall_cannot_loop),
    T(limits_loop_in_coroutine_is_stopped),
    T(limits_loop_in_wrapped_coroutine_is_stopped),
    T(limits_many_short_resumes_are_charged),
    T(limits_loop_in_close_handler_is_stopped),
    T(limits_coroutine_close_after_a_kill_is_refused),
    T(limits_wrapped_coroutine_killed_is_not_closed),
    T(limits_gc_finalizer_cannot_be_installed),
    T(limits_error_object_with_looping_tostring_is_not_run),
    T(limits_table_bomb_hits_memory_limit),
    T(limits_string_rep_bomb_hits_memory_limit),
    T(limits_concatenation_bomb_hits_memory_limit),
    T(limits_recursion_growing_the_stack_hits_memory_limit),
    T(limits_memory_stop_in_pcall_names_a_strings_line),
    T(limits_memory_stop_in_pcall_names_a_buffers_line),
    T(limits_memory_stop_in_pcall_names_a_tables_line),
    T(limits_memory_stop_in_pcall_names_a_requires_line),
    T(limits_memory_error_caught_in_pcall_still_ends_the_call),
    T(limits_garbage_is_collected_before_the_limit_stops_a_call),
    T(limits_garbage_does_not_count_for_built_strings_either),
    T(limits_buffer_room_collections_are_charged),
    T(limits_emergency_collections_are_charged),
    T(limits_collector_is_fitted_to_the_limit),
    T(limits_refusal_without_a_second_try_is_final),
    T(limits_plugin_raising_memory_text_is_a_runtime_error),
    T(limits_plugin_recovers_after_memory_error),
    T(limits_other_plugins_keep_running),
    T(limits_manifest_may_lower_but_not_raise_limits),
    T(limits_errors_say_where_the_limit_was_set),
    T(limits_memory_spent_on_the_value_passed_in_says_so),
    T(limits_main_chunk_runs_under_the_budget),
    T(limits_source_text_counts_against_the_memory_limit),
    T(limits_refused_values_are_charged_for_their_copying),
    T(limits_handler_registration_is_charged),
    T(limits_instructions_are_counted),
    T(limits_backstop_stops_what_the_budget_does_not),
    T(limits_backstop_is_1us_per_instruction_at_least_5s),
    T(limits_manifest_deadline_keeps_the_backstop),
    T(limits_backstop_does_not_count_the_hosts_time),
    T(limits_backstop_stops_a_coroutine),
    T(limits_backstop_stops_a_long_c_function),
    T(limits_backstop_sees_short_resumes),
    T(limits_failed_calls_drop_exactly_what_they_left),
    T(limits_stopped_call_that_returns_still_fails),
    T(limits_reentered_call_is_refused_and_popped),
    T(limits_blocks_keep_their_bytes_through_every_resize),
    T(limits_freed_small_blocks_are_reused),
    T(limits_mixing_sizes_cannot_grow_the_arena_past_the_limit),
    T(limits_sanitizers_see_each_small_block_exactly),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
