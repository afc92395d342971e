/*
** test_hostconfig.c -- the host settings file: what it sets, what it
** grants, and that mistakes in it are errors with file:line:column.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "fixture.h"

static lplug_host *load_ok(fixture *f, const char *yaml) {
  char path[4200], err[512] = "";
  lplug_host *h = NULL;
  support_write(f->root, "lplug.yaml", yaml);
  snprintf(path, sizeof path, "%s/lplug.yaml", f->root);
  int rc = lplug_host_load(path, &h, err, sizeof err);
  if (rc != LPLUG_OK) print_error("%s\n", err);
  assert_int_equal(rc, LPLUG_OK);
  return h;
}

static void load_fails(fixture *f, const char *yaml, const char *message) {
  char path[4200], err[512] = "";
  lplug_host *h = NULL;
  support_write(f->root, "lplug.yaml", yaml);
  snprintf(path, sizeof path, "%s/lplug.yaml", f->root);
  assert_int_equal(lplug_host_load(path, &h, err, sizeof err),
                   LPLUG_EMANIFEST);
  assert_null(h);
  const char *tail = strstr(err, "lplug.yaml:");
  if (tail == NULL || strcmp(tail, message) != 0) print_error("got: %s\n", err);
  assert_non_null(tail);
  assert_string_equal(tail, message);
}

static void hostconfig_sets_limits_queue_folders_and_policy(void **state) {
  fixture *f = *state;
  lplug_host *h = load_ok(f,
    "plugins: [plugins, /opt/more]\n"
    "limits: { memory: 1MB, instructions: 5M }\n"
    "events: { queue: 50, queue_bytes: 64KB }\n"
    "failure: closed\n");
  lplug_config c;
  memset(&c, 0, sizeof c);
  c.event_queue = 7;
  lplug_host_configure(h, &c);
  assert_int_equal(c.memory_limit, 1024 * 1024);
  assert_int_equal(c.instruction_limit, 5000000);
  assert_int_equal(c.event_queue, 50);
  assert_int_equal(c.event_queue_bytes, 64 * 1024);
  assert_int_equal(lplug_host_plugin_dirs(h), 2);
  char want[4200];
  snprintf(want, sizeof want, "%s/plugins", f->root);
  assert_string_equal(lplug_host_plugin_dir(h, 0), want);
  assert_string_equal(lplug_host_plugin_dir(h, 1), "/opt/more");
  assert_null(lplug_host_plugin_dir(h, 2));
  assert_true(lplug_host_fail_closed(h));
  lplug_host_free(h);
}

/* A time limit, or 'none': instruction mode without its backstop (the
** engine's time_limit < 0). */
static void hostconfig_sets_a_time_limit_or_none(void **state) {
  fixture *f = *state;
  lplug_config c;
  lplug_host *h = load_ok(f, "limits: { time: 50ms }\n");
  memset(&c, 0, sizeof c);
  lplug_host_configure(h, &c);
  assert_int_equal(c.time_limit, 50000000);
  lplug_host_free(h);
  h = load_ok(f, "limits: { instructions: 1M, time: none }\n");
  memset(&c, 0, sizeof c);
  lplug_host_configure(h, &c);
  assert_int_equal(c.time_limit, -1);
  assert_int_equal(c.instruction_limit, 1000000);
  lplug_host_free(h);
}

static void hostconfig_empty_file_keeps_defaults(void **state) {
  fixture *f = *state;
  lplug_host *h = load_ok(f, "# nothing set\n");
  lplug_config c;
  memset(&c, 0, sizeof c);
  lplug_host_configure(h, &c);
  assert_int_equal(c.memory_limit, 0);
  assert_int_equal(lplug_host_plugin_dirs(h), 0);
  assert_false(lplug_host_fail_closed(h));
  /* and grants nothing */
  assert_false(lplug_host_grant(h, "any", "hooks", NULL));
  lplug_host_free(h);
}

static void hostconfig_grants_star_and_per_plugin_entries(void **state) {
  fixture *f = *state;
  lplug_host *h = load_ok(f,
    "grants:\n"
    "  '*':\n"
    "    hooks: [record]\n"
    "    log: {}\n"
    "  counter:\n"
    "    events: { emit: ['counter.*'] }\n");
  assert_true(lplug_host_grant(h, "anyone", "hooks", NULL));
  assert_true(lplug_host_grant(h, "anyone", "hooks", "record"));
  assert_false(lplug_host_grant(h, "anyone", "hooks", "admin"));
  assert_true(lplug_host_grant(h, "anyone", "log", NULL));
  assert_false(lplug_host_grant(h, "anyone", "events.emit", "counter.tick"));
  assert_true(lplug_host_grant(h, "counter", "events.emit", "counter.tick"));
  assert_false(lplug_host_grant(h, "counter", "events.emit", "alert.x"));
  assert_true(lplug_host_grant(h, "counter", "hooks", "record"));
  assert_false(lplug_host_grant(h, "counter", "storage", NULL));
  lplug_host_free(h);
}

static void hostconfig_own_entry_decides_the_capabilities_it_names(
    void **state) {
  fixture *f = *state;
  lplug_host *h = load_ok(f,
    "grants:\n"
    "  '*': { hooks: [record], log: {}, events: { emit: ['a.*'] } }\n"
    "  quiet: { hooks: [] }\n"
    "  muted: { log: false }\n"
    "  loud: { events: true }\n"
    "  other: { events: { on: ['b.*'] } }\n");
  /* hooks: [] takes back the hooks "*" gives; log still comes from "*" */
  assert_false(lplug_host_grant(h, "quiet", "hooks", "record"));
  assert_true(lplug_host_grant(h, "quiet", "hooks", NULL)); /* {} == [] */
  assert_true(lplug_host_grant(h, "quiet", "log", NULL));
  assert_false(lplug_host_grant(h, "muted", "log", NULL));
  assert_true(lplug_host_grant(h, "muted", "hooks", "record"));
  /* events: true stands for every part of events */
  assert_true(lplug_host_grant(h, "loud", "events.emit", "z.y"));
  assert_true(lplug_host_grant(h, "loud", "events.on", "z.y"));
  /* naming events.on leaves events.emit to "*" */
  assert_true(lplug_host_grant(h, "other", "events.on", "b.c"));
  assert_false(lplug_host_grant(h, "other", "events.on", "a.c"));
  assert_true(lplug_host_grant(h, "other", "events.emit", "a.c"));
  lplug_host_free(h);
}

static void hostconfig_engine_grants_only_what_the_file_grants(void **state) {
  fixture *f = *state;
  lplug_host *h = load_ok(f, "grants:\n  '*': { hooks: [record] }\n");
  lplug_config c;
  memset(&c, 0, sizeof c);
  c.grant = lplug_host_grant;
  c.ud = h;
  lplug_engine *e = lplug_engine_new(&c);
  lplug_hook_define(e, "record", 0, NULL);
  lplug_hook_define(e, "admin", 0, NULL);
  char *dir = support_plugin(f->root, "wants", NULL,
    "local hooks = require 'lplug.hooks'\n"
    "hooks.on('record', print)\n"
    "hooks.on('admin', print)\n");
  assert_int_equal(lplug_load_plugin(e, dir), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(e), "hooks.on: the host does not grant "
                         "'admin' of capability 'hooks' to plugin 'wants'"));
  free(dir);
  lplug_engine_free(e);
  lplug_host_free(h);
}

static void hostconfig_sets_storage(void **state) {
  fixture *f = *state;
  lplug_host *h = load_ok(f, "storage: { path: data/x.db, quota: 2MB, "
                             "batch: 2s }\n");
  lplug_config c;
  char want[4200];
  memset(&c, 0, sizeof c);
  c.storage_batch_ms = 7;
  lplug_host_configure(h, &c);
  snprintf(want, sizeof want, "%s/data/x.db", f->root);
  assert_string_equal(c.storage_path, want);
  assert_int_equal(c.storage_quota, 2 * 1024 * 1024);
  assert_int_equal(c.storage_batch_ms, 2000);
  lplug_host_free(h);
  h = load_ok(f, "storage: { path: ':memory:', batch: 250ms }\n");
  memset(&c, 0, sizeof c);
  lplug_host_configure(h, &c);
  assert_string_equal(c.storage_path, ":memory:");
  assert_int_equal(c.storage_quota, 0);  /* unset: the engine's default */
  assert_int_equal(c.storage_batch_ms, 250);
  lplug_host_free(h);
  h = load_ok(f, "storage: { path: /abs/y.db }\n");
  c.storage_batch_ms = 7;
  lplug_host_configure(h, &c);
  assert_string_equal(c.storage_path, "/abs/y.db");
  assert_int_equal(c.storage_batch_ms, 7);  /* unset: left as it was */
  lplug_host_free(h);
}

static void hostconfig_sets_the_failure_limit(void **state) {
  fixture *f = *state;
  lplug_config c;
  lplug_host *h = load_ok(f, "disable_after: 3\n");
  memset(&c, 0, sizeof c);
  lplug_host_configure(h, &c);
  assert_int_equal(c.failure_limit, 3);
  lplug_host_free(h);
  h = load_ok(f, "disable_after: never\n");
  lplug_host_configure(h, &c);
  assert_int_equal(c.failure_limit, -1);
  lplug_host_free(h);
  h = load_ok(f, "failure: open\n");
  lplug_host_configure(h, &c);
  assert_int_equal(c.failure_limit, -1);  /* unset: left as it was */
  lplug_host_free(h);
}

static void collect(void *ud, const char *problem) {
  char *all = ud;
  const char *tail = strstr(problem, "lplug.yaml:");
  snprintf(all + strlen(all), 1024 - strlen(all), "%s\n", tail ? tail : problem);
}

/* A misspelt plugin name under grants: or config: would leave that
** plugin's defaults in force with nothing said. */
static void hostconfig_entries_for_plugins_not_loaded_are_said(void **state) {
  fixture *f = *state;
  char said[1024] = "";
  const char *loaded[] = {"tagger", "counter"};
  lplug_host *h = load_ok(f,
    "grants:\n"
    "  '*': { log: {} }\n"
    "  counter: { hooks: [record] }\n"
    "  countr: { storage: {} }\n"
    "config:\n"
    "  tager: { tag: CUSTOM }\n"
    "  tagger: { tag: X }\n");
  assert_int_equal(lplug_host_unknown_plugins(h, loaded, 2, collect, said), 2);
  assert_string_equal(said,
    "lplug.yaml:4:3: grants: 'countr' names no plugin loaded here (its "
    "entry does nothing; misspelt, or not in these plugin folders?)\n"
    "lplug.yaml:6:3: config: 'tager' names no plugin loaded here (its "
    "entry does nothing; misspelt, or not in these plugin folders?)\n");
  assert_int_equal(lplug_host_unknown_plugins(h, NULL, 0, NULL, NULL), 4);
  assert_int_equal(lplug_host_unknown_plugins(h, NULL, 1, NULL, NULL),
                   LPLUG_EINVAL);
  lplug_host_free(h);
}

/* No folder to check is a bad argument, not a problem found in a folder
** named "(null)". */
static void hostconfig_check_of_no_folder_is_a_bad_argument(void **state) {
  char said[1024] = "";
  (void)state;
  assert_int_equal(lplug_check_plugin(NULL, NULL, collect, said),
                   LPLUG_EINVAL);
  assert_string_equal(said, "");
}

/* A host that checks folders without loading them (lplug check) learns
** the names to compare with the file's entries from the manifests; the
** folder's own name may differ. */
static void hostconfig_checked_folders_name_their_plugins(void **state) {
  fixture *f = *state;
  char name[65], small[8], path[4200];
  free(support_plugin(f->root, "folder", "name: tagger\nversion: 1.0.0\n",
                      ""));
  snprintf(path, sizeof path, "%s/folder", f->root);
  assert_int_equal(lplug_manifest_name(path, name, sizeof name), LPLUG_OK);
  assert_string_equal(name, "tagger");
  assert_int_equal(lplug_manifest_name(path, small, sizeof small),
                   LPLUG_EINVAL);
  support_write(f->root, "bad/plugin.yaml", "name: Bad\nversion: 1.0.0\n");
  snprintf(path, sizeof path, "%s/bad", f->root);
  assert_int_equal(lplug_manifest_name(path, name, sizeof name),
                   LPLUG_EMANIFEST);
  assert_string_equal(name, "");
  snprintf(path, sizeof path, "%s/none", f->root);
  assert_int_equal(lplug_manifest_name(path, name, sizeof name), LPLUG_EIO);
}

static void hostconfig_unknown_keys_are_errors(void **state) {
  fixture *f = *state;
  load_fails(f, "grant:\n  '*': {}\n",
             "lplug.yaml:1:1: unknown key 'grant' (allowed: plugins, limits, "
             "events, storage, failure, disable_after, grants, config)");
  load_fails(f, "storage: { file: x.db }\n",
             "lplug.yaml:1:12: unknown key 'storage.file' (allowed: path, "
             "quota, batch)");
  load_fails(f, "limits:\n  memroy: 1MB\n",
             "lplug.yaml:2:3: unknown key 'limits.memroy' (allowed: memory, "
             "instructions, time)");
}

static void hostconfig_bad_values_are_errors(void **state) {
  fixture *f = *state;
  load_fails(f, "failure: maybe\n",
             "lplug.yaml:1:10: failure: expected 'open' or 'closed'");
  load_fails(f, "limits: { memory: lots }\n",
             "lplug.yaml:1:19: limits.memory: not a size (e.g. 256KB, 4MB)");
  load_fails(f, "plugins: plugins\n",
             "lplug.yaml:1:10: plugins: expected a sequence, got a scalar");
  load_fails(f, "grants: [x]\n",
             "lplug.yaml:1:9: grants: expected a mapping, got a sequence");
  load_fails(f, "disable_after: sometimes\n",
             "lplug.yaml:1:16: disable_after: expected a count of failed "
             "calls in a row (e.g. 10) or 'never'");
  load_fails(f, "storage: { quota: 0 }\n",
             "lplug.yaml:1:19: storage.quota: not a size (e.g. 256KB, 4MB)");
  load_fails(f, "storage: { batch: soon }\n",
             "lplug.yaml:1:19: storage.batch: not a time (e.g. 0, 100ms, 1s)");
  load_fails(f, "a: &x 1\nb: *x\n",
             "lplug.yaml:1:4: anchors are not supported ('&x')");
}

/* Capabilities under grants: are read as a manifest's are, but any
** mistake is an error: a misspelt one would grant nothing, silently. */
static void hostconfig_grants_are_checked_like_capabilities(void **state) {
  fixture *f = *state;
  load_fails(f, "grants:\n  redact: { storag: {} }\n",
             "lplug.yaml:2:13: unknown key 'grants.redact.storag' (the "
             "capabilities are hooks, events, storage, log, time, json, "
             "config)");
  load_fails(f, "grants:\n  '*': { storage: { qouta: 1MB } }\n",
             "lplug.yaml:2:21: unknown key 'grants.*.storage.qouta' "
             "(storage takes quota)");
  load_fails(f, "grants:\n  p:\n    log:\n",
             "lplug.yaml:3:9: grants.p.log: expected a mapping ({}), true or "
             "false; got nothing, which declares nothing (write {} to "
             "declare it)");
  load_fails(f, "grants:\n  p: { hooks: [5] }\n",
             "lplug.yaml:2:16: grants.p.hooks: 5 is a number, which names "
             "nothing (quote it, \"5\", to name it)");
  load_fails(f, "grants:\n  p: [hooks]\n",
             "lplug.yaml:2:6: grants.p: expected a mapping of capabilities "
             "(e.g. { hooks: [record] }), got a sequence");
  lplug_host_free(load_ok(f, "grants:\n  p: { hooks: true, log: {}, "
                             "events: { emit: [\"a.*\"] } }\n"));
}

/* A setting given twice is an error, not the second one silently
** winning; a key holding a NUL byte is not read as its first part. */
static void hostconfig_keys_are_given_once(void **state) {
  fixture *f = *state;
  load_fails(f, "limits:\n  memory: 1MB\nlimits:\n  memory: 64MB\n",
             "lplug.yaml:3:1: limits: duplicate key (first at line 1)");
  load_fails(f, "limits: { time: 10ms, time: 1s }\n",
             "lplug.yaml:1:23: limits.time: duplicate key (first at line 1)");
  load_fails(f, "storage: { path: a.db, path: b.db }\n",
             "lplug.yaml:1:24: storage.path: duplicate key (first at line 1)");
  load_fails(f, "\"limits\\0zz\": { memory: 64MB }\n",
             "lplug.yaml:1:1: keys must be plain names");
  load_fails(f, "grants:\n  p: { hooks: [a] }\n  p: { storage: {} }\n",
             "lplug.yaml:3:3: grants.p: duplicate key (first at line 2)");
}

/* Found by fuzz_hostconfig: a key that is a mapping or a sequence has no
** text, and every section read keys as text. */
static void hostconfig_key_that_is_not_a_scalar_is_an_error(void **state) {
  fixture *f = *state;
  load_fails(f, "storage: { path: lplug.db, {}, config: {} }\n",
             "lplug.yaml:1:28: a key must be a scalar, not a mapping");
  load_fails(f, "? [plugins]\n: [a]\n",
             "lplug.yaml:1:3: a key must be a scalar, not a sequence");
  load_fails(f, "grants:\n  { a: b }: {}\n",
             "lplug.yaml:2:3: a key must be a scalar, not a mapping");
}

static void hostconfig_missing_file_is_an_io_error(void **state) {
  (void)state;
  lplug_host *h = NULL;
  char err[256];
  assert_int_equal(lplug_host_load("/nonexistent/lplug.yaml", &h, err,
                                   sizeof err), LPLUG_EIO);
  assert_string_equal(err, "/nonexistent/lplug.yaml: cannot read: No such "
                      "file or directory");
}

/* A NULL message buffer is no room for a message, whatever size comes
** with it: the functions that write one into the caller's buffer still
** return their code (they wrote through the NULL). */
static void hostconfig_and_specs_take_a_null_message_buffer(void **state) {
  fixture *f = *state;
  lplug_host *h = NULL;
  int passed = 0, failed = 0;
  assert_int_equal(lplug_host_load("/nonexistent/lplug.yaml", &h, NULL, 256),
                   LPLUG_EIO);
  assert_int_equal(lplug_host_load(NULL, &h, NULL, 256), LPLUG_EIO);
  support_write(f->root, "lplug.yaml", "limits: { memry: 2MB }\n");
  char path[512];
  snprintf(path, sizeof path, "%s/lplug.yaml", f->root);
  assert_int_equal(lplug_host_load(path, &h, NULL, 256), LPLUG_EMANIFEST);
  assert_null(h);
  assert_int_equal(lplug_spec_run(NULL, "x_spec.lua", NULL, &passed, &failed,
                                  NULL, 256), LPLUG_EINVAL);
  assert_int_equal(lplug_spec_run(f->root, "none_spec.lua", NULL, &passed,
                                  &failed, NULL, 256), LPLUG_ERUNTIME);
  assert_int_equal(passed + failed, 0);
}

/* A host's settings may come through a pipe (a shell's <(...)): files
** that are not regular are read to their end, unlike a plugin's. */
static void hostconfig_can_be_read_from_a_pipe(void **state) {
  static const char yaml[] = "limits: { memory: 2MB }\n";
  lplug_host *h = NULL;
  lplug_config c;
  char path[64], err[256] = "";
  int fds[2];
  (void)state;
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], yaml, sizeof yaml - 1),
                   (ssize_t)(sizeof yaml - 1));
  close(fds[1]);
  snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
  assert_int_equal(lplug_host_load(path, &h, err, sizeof err), LPLUG_OK);
  close(fds[0]);
  memset(&c, 0, sizeof c);
  lplug_host_configure(h, &c);
  assert_int_equal(c.memory_limit, 2 * 1024 * 1024);
  lplug_host_free(h);
  assert_int_equal(lplug_host_load("/dev/null", &h, err, sizeof err),
                   LPLUG_OK);
  lplug_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, \
                                                fixture_teardown)
    T(hostconfig_sets_limits_queue_folders_and_policy),
    T(hostconfig_sets_a_time_limit_or_none),
    T(hostconfig_entries_for_plugins_not_loaded_are_said),
    T(hostconfig_empty_file_keeps_defaults),
    T(hostconfig_grants_star_and_per_plugin_entries),
    T(hostconfig_own_entry_decides_the_capabilities_it_names),
    T(hostconfig_engine_grants_only_what_the_file_grants),
    T(hostconfig_grants_are_checked_like_capabilities),
    T(hostconfig_checked_folders_name_their_plugins),
    T(hostconfig_check_of_no_folder_is_a_bad_argument),
    T(hostconfig_sets_storage),
    T(hostconfig_sets_the_failure_limit),
    T(hostconfig_unknown_keys_are_errors),
    T(hostconfig_bad_values_are_errors),
    T(hostconfig_keys_are_given_once),
    T(hostconfig_key_that_is_not_a_scalar_is_an_error),
    T(hostconfig_missing_file_is_an_io_error),
    T(hostconfig_can_be_read_from_a_pipe),
    T(hostconfig_and_specs_take_a_null_message_buffer),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("hostconfig", tests, NULL, NULL);
}
