/*
** test_hooks.c -- hook points: order, changing the value, STOP, failures
** (fail-open and fail-closed), handles, grants, and values that cannot
** leave a plugin.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "fixture.h"

/* Loads plugin `name` whose init.lua is `code`. */
static void load(fixture *f, const char *name, const char *code) {
  char *dir = support_plugin(f->root, name, NULL, code);
  int rc = lplug_load_plugin(f->e, dir);
  if (rc != LPLUG_OK) print_error("%s\n", lplug_errmsg(f->e));
  assert_int_equal(rc, LPLUG_OK);
  free(dir);
}

/* A handler appending `tag` to the string value. */
static void appender(fixture *f, const char *name, const char *tag,
                     int priority) {
  char code[512];
  snprintf(code, sizeof code,
           "require('lplug.hooks').on('h', function(v)\n"
           "  return (v or '') .. '%s'\nend, { priority = %d })", tag,
           priority);
  load(f, name, code);
}

static lplug_value *string_value(const char *s) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_string(b, s, strlen(s));
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  lplug_builder_free(b);
  return v;
}

static void hooks_run_by_priority_then_load_order(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value(">");
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  appender(f, "a", "a", 0);
  appender(f, "b", "b", 10);
  appender(f, "c", "c", 0);
  appender(f, "d", "d", -5);
  appender(f, "e", "e", 10);
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), ">beacd");
  lplug_value_free(v);
}

static void hooks_handler_modifies_a_record(void **state) {
  fixture *f = *state;
  lplug_value *v = support_record("mail bob@example.com", 7);
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  load(f, "m",
    "require('lplug.hooks').on('h', function(rec)\n"
    "  rec.line = rec.line:gsub('%S+@%S+', '<email>')\n"
    "  rec.n = rec.n * 2\n"
    "  return rec\n"
    "end)");
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_string_equal(support_field(v, "line"), "mail <email>");
  size_t at;
  assert_true(lplug_value_field(v, 0, "n", &at));
  assert_int_equal(lplug_value_integer(v, at, NULL), 14);
  lplug_value_free(v);
}

static void hooks_nil_keeps_the_value(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value("same");
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  load(f, "n", "require('lplug.hooks').on('h', function(v) v = 'x' end)");
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "same");
  lplug_value_free(v);
}

static void hooks_numbers_come_back_with_their_subtype(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value("n");
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  load(f, "num", "require('lplug.hooks').on('h', function(v)\n"
                 "  if v == 'n' then return 3\n"
                 "  elseif math.type(v) == 'integer' then return 3.0\n"
                 "  else return -7 end end)");
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TINTEGER);
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TFLOAT);  /* 3.0 */
  assert_true(lplug_value_float(v, 0, NULL) == 3.0);
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TINTEGER);
  assert_int_equal(lplug_value_integer(v, 0, NULL), -7);
  lplug_value_free(v);
}

static void hooks_stop_ends_the_chain(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value(">");
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  appender(f, "a", "a", 3);
  load(f, "s", "local hooks = require 'lplug.hooks'\n"
               "hooks.on('h', function() return hooks.STOP end,"
               " { priority = 2 })");
  appender(f, "c", "c", 1);
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), ">a");
  lplug_value_free(v);
}

static void hooks_value_and_stop_replaces_then_ends(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value(">");
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  load(f, "s", "local hooks = require 'lplug.hooks'\n"
               "hooks.on('h', function() return false, hooks.STOP end,"
               " { priority = 2 })");
  appender(f, "c", "c", 1);
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_int_equal(lplug_value_type(v, 0), LPLUG_TBOOLEAN);
  assert_int_equal(lplug_value_boolean(v, 0), 0);
  lplug_value_free(v);
}

static void hooks_fail_open_skips_the_failing_handler(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value(">");
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  appender(f, "a", "a", 3);
  load(f, "bad", "require('lplug.hooks').on('h', function(v)\n"
                 "  error('broken handler')\nend, { priority = 2 })");
  appender(f, "c", "c", 1);
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), ">ac");
  assert_int_equal(f->log.errors, 1);
  assert_int_equal(f->log.last_code, LPLUG_ERUNTIME);
  assert_string_equal(f->log.last_plugin, "bad");
  assert_string_equal(f->log.last_message, "plugin 'bad': error in hook 'h': "
                      "bad/init.lua:2: broken handler");
  assert_non_null(strstr(f->log.last_traceback, "stack traceback:"));
  assert_non_null(strstr(f->log.last_traceback, "bad/init.lua:2"));
  lplug_value_free(v);
}

/* A host log sink that runs hook "inner" when a plugin prints "nest", and
** keeps what the engine reported of that nested run as soon as it ends. */
static lplug_engine *nest_engine;
static int nested_rc;
static char nested_message[1024], nested_traceback[2048];

static void nest_on_log(void *ud, int level, const char *plugin,
                        const char *message) {
  support_log *log = ud;
  (void)level; (void)plugin;
  if (strcmp(message, "nest") == 0) {
    lplug_value *v = lplug_value_new();
    nested_rc = lplug_hook_run(nest_engine, "inner", v);
    snprintf(nested_message, sizeof nested_message, "%s", log->last_message);
    snprintf(nested_traceback, sizeof nested_traceback, "%s",
             log->last_traceback);
    lplug_value_free(v);
  }
}

static void hooks_failure_inside_another_plugins_call_reads_right(
    void **state) {
  /* Plugin "inner" runs out of instructions inside "outer"'s call (a
  ** host callback runs it), then "outer" fails itself: each report names
  ** its own place, message and traceback, none the other's. */
  fixture *f = *state;
  lplug_config c = {0};
  lplug_value *v = lplug_value_new();
  char *a, *b;
  a = support_plugin(f->root, "outer", NULL,
                     "require('lplug.hooks').on('t', function()\n"
                     "  print('nest')\n"
                     "  error({})\n"
                     "end)");
  b = support_plugin(f->root, "inner", "name: inner\nversion: 1.0.0\n"
                     "capabilities: { hooks: ['*'] }\n"
                     "limits: { instructions: 10000 }\n",
                     "require('lplug.hooks').on('inner', function()\n"
                     "  while true do end\n"
                     "end)");
  lplug_engine_free(f->e);
  support_config(&f->log, &c);
  c.on_log = nest_on_log;
  f->e = nest_engine = lplug_engine_new(&c);
  assert_non_null(f->e);
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(f->e, "inner", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_OK);
  nested_rc = LPLUG_OK;
  assert_int_equal(lplug_hook_run(f->e, "t", v), LPLUG_ERUNTIME);
  assert_int_equal(nested_rc, LPLUG_ECPU);
  assert_non_null(strstr(nested_message, "plugin 'inner': instruction budget "
                         "of 10000 spent in hook 'inner' at "
                         "inner/init.lua:2 ("));
  assert_non_null(strstr(nested_traceback, "inner/init.lua:2"));
  assert_null(strstr(nested_traceback, "outer/"));
  assert_int_equal(f->log.errors, 2);
  assert_string_equal(f->log.last_plugin, "outer");
  assert_string_equal(f->log.last_message, "plugin 'outer': error in hook "
                      "'t': outer/init.lua:3: (error object is a table "
                      "value)");
  assert_non_null(strstr(f->log.last_traceback, "outer/init.lua:3"));
  assert_null(strstr(f->log.last_traceback, "inner/"));
  lplug_value_free(v);
  free(a);
  free(b);
}

static void hooks_failure_details_do_not_outlive_their_call(void **state) {
  /* The place, message and traceback of one failed call are kept for the
  ** next failure of the same plugin: none of them may leak into it. */
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(lplug_hook_define(f->e, "h", LPLUG_HOOK_FAIL_CLOSED, NULL),
                   LPLUG_OK);
  load(f, "p", "local n = 0\n"
               "require('lplug.hooks').on('h', function()\n"
               "  n = n + 1\n"
               "  if n == 1 then error('first') end\n"
               "  if n == 2 then return 'fine' end\n"
               "  error({})\n"
               "end)");
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_ERUNTIME);
  assert_string_equal(f->log.last_message, "plugin 'p': error in hook 'h': "
                      "p/init.lua:4: first");
  assert_non_null(strstr(f->log.last_traceback, "p/init.lua:4"));
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "fine");
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_ERUNTIME);
  assert_string_equal(f->log.last_message, "plugin 'p': error in hook 'h': "
                      "p/init.lua:6: (error object is a table value)");
  assert_non_null(strstr(f->log.last_traceback, "p/init.lua:6"));
  assert_null(strstr(f->log.last_traceback, "p/init.lua:4"));
  assert_int_equal(f->log.errors, 2);
  lplug_value_free(v);
}

static void hooks_fail_closed_stops_and_keeps_the_value(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value(">");
  lplug_stats st;
  assert_int_equal(lplug_hook_define(f->e, "h", LPLUG_HOOK_FAIL_CLOSED, NULL),
                   LPLUG_OK);
  appender(f, "a", "a", 3);
  load(f, "bad", "require('lplug.hooks').on('h', function(v)\n"
                 "  error('broken handler')\nend, { priority = 2 })");
  appender(f, "c", "c", 1);
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_ERUNTIME);
  assert_string_equal(lplug_value_string(v, 0, NULL), ">a");
  assert_int_equal(lplug_plugin_stats(f->e, "bad", &st), LPLUG_OK);
  assert_int_equal(st.calls, 2);  /* loading, and the handler */
  assert_int_equal(st.errors, 1);
  assert_int_equal(st.runtime_errors, 1);
  assert_int_equal(lplug_plugin_stats(f->e, "c", &st), LPLUG_OK);
  assert_int_equal(st.calls, 1);  /* loading only */
  lplug_value_free(v);
}

static void hooks_handle_off_removes_the_handler(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value(">");
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  load(f, "once", "local h\n"
                  "h = require('lplug.hooks').on('h', function(v)\n"
                  "  assert(h:off() == true and h:off() == false)\n"
                  "  return v .. 'once'\nend)");
  lplug_hook *hook = lplug_hook_find(f->e, "h");
  assert_non_null(hook);
  assert_int_equal(lplug_hook_handlers(hook), 1);
  assert_int_equal(lplug_hook_call(hook, v), LPLUG_OK);
  assert_int_equal(lplug_hook_call(hook, v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), ">once");
  assert_int_equal(lplug_hook_handlers(hook), 0);
  lplug_value_free(v);
}

/* The cap is per hook point and counts the handlers a plugin has now:
** 16 on h and 16 on g, two of h's turned off make room for two more,
** and the 17th on h is refused. */
static void hooks_the_cap_counts_handlers_on_one_hook_point(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value("");
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  assert_int_equal(lplug_hook_define(f->e, "g", 0, NULL), LPLUG_OK);
  load(f, "capped",
       "local hooks = require('lplug.hooks')\n"
       "local on_h = {}\n"
       "for i = 1, 16 do on_h[i] = hooks.on('h', function(v) return v .. 'h' end) end\n"
       "for _ = 1, 16 do hooks.on('g', function(v) return v end) end\n"
       "assert(on_h[1]:off() and on_h[2]:off())\n"
       "for _ = 1, 2 do hooks.on('h', function(v) return v .. 'h' end) end\n"
       "local ok, err = pcall(hooks.on, 'h', function(v) return v end)\n"
       "assert(not ok and err:find('at most 16 handlers on one hook point'),"
       " tostring(err))\n");
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(f->e, "h")), 16);
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(f->e, "g")), 16);
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_int_equal(strlen(lplug_value_string(v, 0, NULL)), 16);
  lplug_value_free(v);
}

static void hooks_handle_from_define_skips_the_lookup(void **state) {
  fixture *f = *state;
  lplug_hook *h = NULL;
  assert_int_equal(lplug_hook_define(f->e, "h", 0, &h), LPLUG_OK);
  assert_ptr_equal(lplug_hook_find(f->e, "h"), h);
  assert_null(lplug_hook_find(f->e, "nope"));
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_EEXIST);
  assert_int_equal(lplug_hook_define(f->e, "bad name", 0, NULL), LPLUG_EINVAL);
  assert_int_equal(lplug_hook_define(f->e, "x", 99, NULL), LPLUG_EINVAL);
  lplug_value *v = lplug_value_new();
  assert_int_equal(lplug_hook_run(f->e, "nope", v), LPLUG_ENOTFOUND);
  assert_string_equal(lplug_errmsg(f->e), "no hook point named 'nope'");
  lplug_value_free(v);
}

static void hooks_many_hook_points_are_all_found(void **state) {
  fixture *f = *state;
  char name[32];
  for (int i = 0; i < 1000; i++) {
    snprintf(name, sizeof name, "hook.%d", i);
    assert_int_equal(lplug_hook_define(f->e, name, 0, NULL), LPLUG_OK);
  }
  for (int i = 0; i < 1000; i++) {
    snprintf(name, sizeof name, "hook.%d", i);
    lplug_hook *h = lplug_hook_find(f->e, name);
    assert_non_null(h);
  }
}

static void hooks_undefined_hook_point_is_an_error(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "record", 0, NULL), LPLUG_OK);
  char *dir = support_plugin(f->root, "typo", NULL,
                             "require('lplug.hooks').on('recrod', print)");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "hooks.on: no hook point "
                         "'recrod' (the host defines: record)"));
  free(dir);
  /* a NUL would cut the name the grant is checked on */
  dir = support_plugin(f->root, "nul", NULL,
                       "require('lplug.hooks').on('record\\0x', print)");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "a hook name has no NUL byte"));
  free(dir);
}

/* lplug_hook_find gives NULL for an undefined name; passing that on to
** the other hook functions is answered, not a crash.  The settings-file
** accessors a host calls next to them answer a NULL host the same way. */
static void hooks_null_handle_is_answered_not_dereferenced(void **state) {
  fixture *f = *state;
  lplug_config c;
  lplug_handler_info info;
  memset(&c, 0, sizeof c);
  assert_null(lplug_hook_find(f->e, "undefined"));
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(f->e, "undefined")),
                   0);
  assert_null(lplug_hook_name(NULL));
  assert_int_equal(lplug_hook_call(NULL, NULL), LPLUG_EINVAL);
  assert_int_equal(lplug_hook_handler_info(NULL, 0, &info), LPLUG_ENOTFOUND);
  assert_int_equal(lplug_host_plugin_dirs(NULL), 0);
  assert_null(lplug_host_plugin_dir(NULL, 0));
  assert_int_equal(lplug_host_fail_closed(NULL), 0);
  lplug_host_configure(NULL, &c);             /* changes nothing */
  assert_int_equal(c.memory_limit, 0);
  assert_int_equal(lplug_host_grant(NULL, "p", "hooks", "record"), 0);
  assert_int_equal(lplug_host_apply_config(NULL, f->e), LPLUG_EINVAL);
}

static void hooks_registering_outside_the_grant_is_refused(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "record", 0, NULL), LPLUG_OK);
  assert_int_equal(lplug_hook_define(f->e, "admin", 0, NULL), LPLUG_OK);
  char *dir = support_plugin(f->root, "narrow",
    "name: narrow\nversion: 1.0.0\ncapabilities:\n  hooks: [record]\n",
    "local hooks = require 'lplug.hooks'\n"
    "hooks.on('record', print)\n"
    "hooks.on('admin', print)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e),
    "narrow/init.lua:3: hooks.on: plugin 'narrow' does not declare 'admin' "
    "under capabilities.hooks (it lists: record; add it in plugin.yaml; the "
    "host must grant it)"));
  /* the failed plugin left no handler behind */
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(f->e, "record")), 0);
  free(dir);
}

static void hooks_on_needs_a_name(void **state) {
  expect_error(*state, "require('lplug.hooks').on({}, print)", LPLUG_ERUNTIME,
               "bad argument #1 to 'on' (string expected, got table)");
}

static void hooks_on_needs_a_function(void **state) {
  expect_error(*state, "require('lplug.hooks').on('t', 'notfn')",
               LPLUG_ERUNTIME,
               "bad argument #2 to 'on' (function expected, got string)");
}

static void hooks_on_needs_an_integer_priority(void **state) {
  expect_error(*state, "require('lplug.hooks').on('t', print, {priority = 1.5})",
               LPLUG_ERUNTIME, "bad argument #3 to 'on' (priority must be an "
               "integer from -2147483648 to 2147483647)");
}

/* The message says the range, not only "an integer": the value given
** here is one. */
static void hooks_on_priority_out_of_range_says_the_range(void **state) {
  expect_error(*state, "require('lplug.hooks').on('t', print,\n"
               "  {priority = math.maxinteger})", LPLUG_ERUNTIME,
               "bad argument #3 to 'on' (priority must be an integer from "
               "-2147483648 to 2147483647)");
}

static void hooks_registering_while_running_is_refused(void **state) {
  expect_error(*state, "require('lplug.hooks').on('t', print)", LPLUG_ERUNTIME,
               "hooks.on: hook 't' is running");
}

static void hooks_function_result_is_refused_with_its_path(void **state) {
  fixture *f = *state;
  lplug_value *v = string_value("kept");
  lplug_stats st;
  assert_int_equal(eval(f, "return { meta = { fn = print } }", v),
                   LPLUG_EVALUE);
  assert_non_null(strstr(f->log.last_message,
    "plugin 'p1': hook 't' returned a value that cannot leave the plugin: "
    "value.meta.fn is a function"));
  assert_string_equal(lplug_value_string(v, 0, NULL), "kept");
  assert_int_equal(lplug_plugin_stats(f->e, "p1", &st), LPLUG_OK);
  assert_int_equal(st.value_errors, 1);
  lplug_value_free(v);
}

static void hooks_cyclic_result_is_refused(void **state) {
  expect_error(*state, "local t = {} t.self = t return t", LPLUG_EVALUE,
               "value.self");
}

static void hooks_coroutine_result_is_refused(void **state) {
  expect_error(*state, "return coroutine.create(print)", LPLUG_EVALUE,
               "value is a thread");
}

static void hooks_result_larger_than_four_times_memory_is_refused(
    void **state) {
  /* 20 references to one 64 KB string encode to 1.3 MB: more than four
  ** times the 256 KB state could hold. */
  fixture *f = *state;
  lplug_engine_free(f->e);
  f->e = support_engine(&f->log, 256 * 1024, 0);
  expect_error(f, "local s = string.rep('x', 65536)\n"
                  "local t = {} for i = 1, 20 do t[i] = s end return t",
               LPLUG_EVALUE, "makes the value larger than 1048576 bytes");
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hooks_result_sharing_a_big_empty_table_is_read_by_its_bytes(
    void **state) {
  /* A table of 131,072 slots, emptied, met 500,000 times in the result:
  ** each visit walked every slot for the 7 bytes it wrote (27 s of
  ** the host's time, after the call, whatever its limits); a table met
  ** again is now copied from its first encoding. */
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  long long began;
  lplug_engine_free(f->e);
  f->e = support_engine(&f->log, 4 * 1024 * 1024, 0);
  assert_int_equal(lplug_hook_define(f->e, "h", LPLUG_HOOK_FAIL_CLOSED, NULL),
                   LPLUG_OK);
  load(f, "sharer",
       "local empty, a, b, c = {}, {}, {}, {}\n"
       "for i = 1, 100000 do empty[i] = true end\n"
       "for i = 1, 100000 do empty[i] = nil end\n"
       "for i = 1, 100 do a[i] = empty; b[i] = a end\n"
       "for i = 1, 50 do c[i] = b end\n"
       "require('lplug.hooks').on('h', function() return c end)");
  began = now_ms();
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  if (now_ms() - began > 2000)
    fail_msg("the result took %lld ms to read", now_ms() - began);
  assert_int_equal(lplug_value_count(v, 0), 50);
  lplug_value_free(v);
}

static void hooks_yield_across_the_host_call_fails(void **state) {
  expect_error(*state, "coroutine.yield(1)", LPLUG_ERUNTIME,
               "attempt to yield from outside a coroutine");
}

static void hooks_values_are_copies(void **state) {
  fixture *f = *state;
  lplug_value *v = support_record("a", 1);
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  load(f, "keeper", "require('lplug.hooks').on('h', function(rec)\n"
                    "  if SEEN then return SEEN.line end\n"
                    "  SEEN = rec\nend, { priority = 1 })");
  load(f, "changer", "require('lplug.hooks').on('h', function(rec)\n"
                     "  rec.line = 'changed' return rec end)");
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_string_equal(support_field(v, "line"), "changed");
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  /* keeper's saved copy was never touched by changer (whose handler
  ** then fails on a string and is skipped: the hook is fail-open) */
  assert_string_equal(lplug_value_string(v, 0, NULL), "a");
  lplug_value_free(v);
}

/* A handler appending `tag`, registered with Lua options `opts`. */
static int ordered(fixture *f, const char *name, const char *tag,
                   const char *opts) {
  char code[512], *dir;
  int rc;
  snprintf(code, sizeof code,
           "require('lplug.hooks').on('h', function(v)\n"
           "  return (v or '') .. '%s'\nend, %s)", tag, opts);
  dir = support_plugin(f->root, name, NULL, code);
  rc = lplug_load_plugin(f->e, dir);
  free(dir);
  return rc;
}

static void run_expect(fixture *f, const char *want) {
  lplug_value *v = string_value(">");
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), want);
  lplug_value_free(v);
}

static void hooks_before_and_after_come_before_priority(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  assert_int_equal(ordered(f, "a", "a", "{ priority = 10, after = {'c'} }"),
                   LPLUG_OK);
  assert_int_equal(ordered(f, "b", "b", "{ before = 'a' }"), LPLUG_OK);
  assert_int_equal(ordered(f, "c", "c", "{ priority = 5 }"), LPLUG_OK);
  assert_int_equal(ordered(f, "d", "d", "{ priority = 20 }"), LPLUG_OK);
  run_expect(f, ">dcba");  /* c before b: priority, where free to choose */
}

static void hooks_plain_order_comes_back_when_the_constraint_goes(
    void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  assert_int_equal(ordered(f, "p", "p", "{ priority = 1, before = 'q' }"),
                   LPLUG_OK);
  assert_int_equal(ordered(f, "q", "q", "{ priority = 9 }"), LPLUG_OK);
  assert_int_equal(ordered(f, "r", "r", "{ priority = 5 }"), LPLUG_OK);
  run_expect(f, ">rpq");  /* q waits for p; r, free, goes by priority */
  assert_int_equal(lplug_plugin_unload(f->e, "p"), LPLUG_OK);
  run_expect(f, ">rq");   /* removing a handler moves no other */
  assert_int_equal(ordered(f, "s", "s", "{ priority = 0 }"), LPLUG_OK);
  run_expect(f, ">qrs");  /* the next registration restores priority order */
}

/* A registration sorts the hook's handlers, comparing each with every
** before/after name of every handler, the other plugins' names too:
** it pays for those, not only for its own names.  Among 64 handlers
** naming 16 plugins each, one registration compares some 65 x 1024
** names; a plugin allowed 20,000 instructions cannot register there
** (it could, paying 628, and turn a handler on and off in a loop making
** the host work 60 times longer than its budget allowed). */
static void hooks_registering_pays_for_every_name_its_sort_compares(
    void **state) {
  fixture *f = *state;
  const char *names = "{ before = {'a1', 'a2', 'a3', 'a4', 'a5', 'a6', "
    "'a7', 'a8', 'a9', 'a10', 'a11', 'a12', 'a13', 'a14', 'a15', 'a16'} }";
  char name[16], *dir;
  int i;
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  for (i = 0; i < 64; i++) {
    snprintf(name, sizeof name, "n%d", i);
    assert_int_equal(ordered(f, name, "n", names), LPLUG_OK);
  }
  dir = support_plugin(f->root, "x", "name: x\nversion: 1.0.0\n"
                       "capabilities: { hooks: ['*'] }\n"
                       "limits: { instructions: 20000 }\n",
                       "local h = require('lplug.hooks')\n"
                       "h.on('h', function(v) return v end, "
                       "{ before = 'y' }):off()\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ECPU);
  assert_non_null(strstr(lplug_errmsg(f->e), "instruction budget of 20000"));
  free(dir);
}

static void hooks_constraint_on_absent_plugin_waits_for_it(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  assert_int_equal(ordered(f, "a", "a", "{ priority = 10, after = "
                                        "{'late', 'never'} }"), LPLUG_OK);
  assert_int_equal(ordered(f, "b", "b", "{ priority = 5 }"), LPLUG_OK);
  run_expect(f, ">ab");    /* 'late' is not there: ignored */
  assert_int_equal(ordered(f, "late", "L", "{ priority = -1 }"), LPLUG_OK);
  run_expect(f, ">bLa");
}

static void hooks_contradicting_constraints_fail_the_load(void **state) {
  fixture *f = *state;
  const char *want = "plugin 'x': error in loading: x/init.lua:1: hooks.on: "
    "hook 'h': the before/after constraints form a cycle: c -> x -> a -> c "
    "(each must run before the next; change before = or after = in one of "
    "these plugins)";
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  assert_int_equal(ordered(f, "a", "a", "{ before = {'c'} }"), LPLUG_OK);
  assert_int_equal(ordered(f, "c", "c", "{ after = {'b'}, before = 'x' }"),
                   LPLUG_OK);
  assert_int_equal(ordered(f, "x", "x", "{ before = {'a'} }"),
                   LPLUG_ERUNTIME);
  if (!strstr(f->log.last_message, want))
    print_error("%s\n", f->log.last_message);
  assert_non_null(strstr(f->log.last_message, want));
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(f->e, "h")), 2);
  run_expect(f, ">ac");
  assert_int_equal(ordered(f, "b", "b", "{ priority = 9 }"), LPLUG_OK);
  run_expect(f, ">bac");   /* b leads on priority; c still follows a */
}

/* Loads a plugin whose main file is `code`; expects `text` in the error. */
static void load_fails_with(fixture *f, const char *code, const char *text) {
  char name[32], *dir;
  snprintf(name, sizeof name, "q%d", ++f->n);
  dir = support_plugin(f->root, name, NULL, code);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ERUNTIME);
  free(dir);
  if (!strstr(f->log.last_message, text))
    print_error("%s\nwanted: %s\n", f->log.last_message, text);
  assert_non_null(strstr(f->log.last_message, text));
}

static void hooks_bad_constraints_are_misuse(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  load_fails_with(f, "require('lplug.hooks').on('h', print, { before = 5 })",
                  "bad argument #3 to 'on' (before must be a list of plugin "
                  "names, got number)");
  load_fails_with(f, "require('lplug.hooks').on('h', print, { after = {'a', "
                  "3} })", "bad argument #3 to 'on' (after[2] must be a "
                  "plugin name)");
  load_fails_with(f, "require('lplug.hooks').on('h', print, { after = "
                  "{'q3'} })", "bad argument #3 to 'on' (after names the "
                  "plugin itself; order its own handlers with priority)");
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(f->e, "h")), 0);
}

static void hooks_handlers_can_be_listed(void **state) {
  fixture *f = *state;
  lplug_handler_info info;
  lplug_hook *h;
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  assert_int_equal(lplug_hook_define(f->e, "g", 0, NULL), LPLUG_OK);
  assert_int_equal(lplug_hook_count(f->e), 2);
  assert_string_equal(lplug_hook_name(lplug_hook_at(f->e, 0)), "h");
  assert_string_equal(lplug_hook_name(lplug_hook_at(f->e, 1)), "g");
  assert_null(lplug_hook_at(f->e, 2));
  assert_null(lplug_hook_at(f->e, -1));
  assert_int_equal(ordered(f, "a", "a", "{ priority = 3, before = {'z'}, "
                                        "after = {'b', 'c'} }"), LPLUG_OK);
  assert_int_equal(ordered(f, "b", "b", "{ priority = 1 }"), LPLUG_OK);
  h = lplug_hook_find(f->e, "h");
  assert_int_equal(lplug_hook_handler_info(h, 0, &info), LPLUG_OK);
  assert_string_equal(info.plugin, "b");
  assert_int_equal(info.priority, 1);
  assert_int_equal(info.nbefore + info.nafter, 0);
  assert_int_equal(lplug_hook_handler_info(h, 1, &info), LPLUG_OK);
  assert_string_equal(info.plugin, "a");
  assert_int_equal(info.priority, 3);
  assert_int_equal(info.nbefore, 1);
  assert_string_equal(info.before[0], "z");
  assert_int_equal(info.nafter, 2);
  assert_string_equal(info.after[1], "c");
  assert_int_equal(lplug_hook_handler_info(h, 2, &info), LPLUG_ENOTFOUND);
  assert_int_equal(lplug_hook_handler_info(h, -1, &info), LPLUG_ENOTFOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, \
                                                fixture_teardown)
    T(hooks_run_by_priority_then_load_order),
    T(hooks_numbers_come_back_with_their_subtype),
    T(hooks_before_and_after_come_before_priority),
    T(hooks_plain_order_comes_back_when_the_constraint_goes),
    T(hooks_registering_pays_for_every_name_its_sort_compares),
    T(hooks_constraint_on_absent_plugin_waits_for_it),
    T(hooks_contradicting_constraints_fail_the_load),
    T(hooks_bad_constraints_are_misuse),
    T(hooks_handlers_can_be_listed),
    T(hooks_handler_modifies_a_record),
    T(hooks_nil_keeps_the_value),
    T(hooks_stop_ends_the_chain),
    T(hooks_value_and_stop_replaces_then_ends),
    T(hooks_fail_open_skips_the_failing_handler),
    T(hooks_fail_closed_stops_and_keeps_the_value),
    T(hooks_failure_inside_another_plugins_call_reads_right),
    T(hooks_failure_details_do_not_outlive_their_call),
    T(hooks_handle_off_removes_the_handler),
    T(hooks_the_cap_counts_handlers_on_one_hook_point),
    T(hooks_handle_from_define_skips_the_lookup),
    T(hooks_many_hook_points_are_all_found),
    T(hooks_undefined_hook_point_is_an_error),
    T(hooks_null_handle_is_answered_not_dereferenced),
    T(hooks_registering_outside_the_grant_is_refused),
    T(hooks_on_needs_a_name),
    T(hooks_on_needs_a_function),
    T(hooks_on_needs_an_integer_priority),
    T(hooks_on_priority_out_of_range_says_the_range),
    T(hooks_registering_while_running_is_refused),
    T(hooks_function_result_is_refused_with_its_path),
    T(hooks_cyclic_result_is_refused),
    T(hooks_coroutine_result_is_refused),
    T(hooks_result_larger_than_four_times_memory_is_refused),
    T(hooks_result_sharing_a_big_empty_table_is_read_by_its_bytes),
    T(hooks_yield_across_the_host_call_fails),
    T(hooks_values_are_copies),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("hooks", tests, NULL, NULL);
}
