/*
** test_load.c -- loading plugins and folders of plugins: what loads, what
** does not, and what the errors say.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static void load_dir_loads_good_plugins_and_skips_bad_ones(void **state) {
  fixture *f = *state;
  free(support_plugin(f->root, "a-good", "name: a-good\nversion: 1.0.0\n",
                      "x = 1"));
  free(support_plugin(f->root, "b-bad", "name: b-bad\nversion: one\n",
                      "x = 1"));
  free(support_plugin(f->root, "c-good", "name: c-good\nversion: 2.0.0\n",
                      "x = 1"));
  support_write(f->root, "notes/readme.txt", "not a plugin");
  support_write(f->root, "file.txt", "ignored");
  assert_int_equal(lplug_load_dir(f->e, f->root), LPLUG_EMANIFEST);
  assert_int_equal(lplug_plugin_count(f->e), 2);
  assert_string_equal(lplug_plugin_name(f->e, 0), "a-good");
  assert_string_equal(lplug_plugin_name(f->e, 1), "c-good");
  assert_null(lplug_plugin_name(f->e, 2));
  assert_non_null(strstr(lplug_errmsg(f->e), "b-bad/plugin.yaml:2:10: "
                         "version: 'one' is not a semantic version"));
  assert_int_equal(f->log.errors, 1);
  assert_int_equal(f->log.warnings, 1);
  assert_non_null(strstr(f->log.last_warning, "notes: no plugin.yaml"));
}

/* A plugin's folder is recorded as its real path whichever way the set
** was reached: through a link to the set, as a folder of it, or as a link
** in it to a folder elsewhere.  Each then requires its own module, which
** must resolve inside that real folder. */
static void load_dir_records_each_plugins_real_folder(void **state) {
  fixture *f = *state;
  char real[4096], via[4096], expect[4096 + 32], target[4096 + 32];
  const char *main_lua = "local m = require('util'); assert(m.ok)\n";
  assert_non_null(realpath(f->root, real));
  support_write(f->root, "set/a/plugin.yaml", "name: a\nversion: 1.0.0\n");
  support_write(f->root, "set/a/init.lua", main_lua);
  support_write(f->root, "set/a/util.lua", "return {ok = true}\n");
  support_write(f->root, "away/b/plugin.yaml", "name: b\nversion: 1.0.0\n");
  support_write(f->root, "away/b/init.lua", main_lua);
  support_write(f->root, "away/b/util.lua", "return {ok = true}\n");
  support_write(f->root, "away/notes.txt", "a file, not a plugin");
  snprintf(target, sizeof target, "%s/away/b", real);
  snprintf(via, sizeof via, "%s/set/b", f->root);
  assert_int_equal(symlink(target, via), 0);
  snprintf(target, sizeof target, "%s/away/notes.txt", real);
  snprintf(via, sizeof via, "%s/set/notes", f->root);
  assert_int_equal(symlink(target, via), 0);
  snprintf(target, sizeof target, "%s/set", real);
  snprintf(via, sizeof via, "%s/link", f->root);
  assert_int_equal(symlink(target, via), 0);

  assert_int_equal(lplug_load_dir(f->e, via), LPLUG_OK);
  assert_int_equal(lplug_plugin_count(f->e), 2);
  snprintf(expect, sizeof expect, "%s/set/a", real);
  assert_string_equal(lplug_plugin_dir(f->e, "a"), expect);
  snprintf(expect, sizeof expect, "%s/away/b", real);
  assert_string_equal(lplug_plugin_dir(f->e, "b"), expect);
  assert_int_equal(f->log.warnings, 0);  /* the link to a file is no folder */
}

/* The host (here its on_state callback) may change a set's folders while
** the set loads: a folder replaced by a link after the set was read loads
** from where the link points, and its requires resolve there. */
static char swap_folder[4200], swap_aside[4300], swap_target[4200];

static void swap_b_once_a_is_active(void *ud, const char *plugin, int from,
                                    int to, const char *reason) {
  (void)ud; (void)from; (void)reason;
  if (strcmp(plugin, "a") == 0 && to == LPLUG_STATE_ACTIVE &&
      swap_aside[0] == '\0') {
    snprintf(swap_aside, sizeof swap_aside, "%s-old", swap_folder);
    assert_int_equal(rename(swap_folder, swap_aside), 0);
    assert_int_equal(symlink(swap_target, swap_folder), 0);
  }
}

static void load_dir_takes_a_folder_as_it_is_when_it_loads(void **state) {
  fixture *f = *state;
  support_log log;
  lplug_config config = {0};
  lplug_engine *e;
  char real[4096], set[4200], expect[4200];
  const char *main_lua = "assert(require('mod').ok)\n";
  assert_non_null(realpath(f->root, real));
  support_write(f->root, "set/a/plugin.yaml", "name: a\nversion: 1.0.0\n");
  support_write(f->root, "set/a/init.lua", "x = 1\n");
  support_write(f->root, "set/b/plugin.yaml", "name: b\nversion: 1.0.0\n");
  support_write(f->root, "set/b/init.lua", main_lua);
  support_write(f->root, "set/b/mod.lua", "return {ok = true}\n");
  support_write(f->root, "away/b/init.lua", main_lua);
  support_write(f->root, "away/b/mod.lua", "return {ok = true}\n");
  snprintf(swap_folder, sizeof swap_folder, "%s/set/b", real);
  snprintf(swap_target, sizeof swap_target, "%s/away/b", real);
  swap_aside[0] = '\0';
  config.on_state = swap_b_once_a_is_active;
  e = support_engine_with(&log, &config);
  snprintf(set, sizeof set, "%s/set", real);
  if (lplug_load_dir(e, set) != LPLUG_OK) print_error("%s\n", lplug_errmsg(e));
  assert_non_null(swap_aside[0] ? swap_aside : NULL);  /* it was swapped */
  assert_int_equal(lplug_plugin_count(e), 2);
  snprintf(expect, sizeof expect, "%s/away/b", real);
  assert_string_equal(lplug_plugin_dir(e, "b"), expect);
  lplug_engine_free(e);
}

static void load_dir_of_missing_folder_is_an_io_error(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_load_dir(f->e, "/nonexistent/plugins"), LPLUG_EIO);
  assert_string_equal(lplug_errmsg(f->e),
                      "cannot read plugin folder '/nonexistent/plugins': "
                      "No such file or directory");
}

static void load_same_name_twice_is_refused(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "one", "name: same\nversion: 1.0.0\n", "");
  char *b = support_plugin(f->root, "two", "name: same\nversion: 1.0.0\n", "");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_EEXIST);
  assert_non_null(strstr(lplug_errmsg(f->e), "a plugin named 'same' is "
                                             "already loaded"));
  free(a);
  free(b);
}

static void load_syntax_error_names_file_and_line(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "syn", NULL, "x = 1\nif then\n");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_ELOAD);
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'syn': cannot load: "
                                             "syn/init.lua:2:"));
  assert_int_equal(f->log.last_code, LPLUG_ELOAD);
  assert_int_equal(lplug_plugin_count(f->e), 0);
  free(a);
}

static void load_runtime_error_in_main_is_reported(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "rt", NULL, "local x = nil\nx.y = 1\n");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'rt': error in loading: "
                                             "rt/init.lua:2: attempt to index"));
  free(a);
}

/* A misspelt callback must not leave the plugin without it, silently:
** the load fails naming the key and the names there are. */
static void load_unknown_callback_key_is_a_load_error(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "typo", NULL,
                           "return { intit = function() end }\n");
  char *b = support_plugin(f->root, "listed", NULL,
                           "return { function() end }\n");
  char *c = support_plugin(f->root, "spelt", NULL,
                           "return { init = function() end, save = nil }\n");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'typo': error in "
                         "loading: init.lua returned callbacks with an "
                         "unknown key 'intit' (the callbacks are init, "
                         "shutdown, save, restore)"));
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "an unknown key [1] "));
  assert_int_equal(lplug_load_plugin(f->e, c), LPLUG_OK);
  assert_int_equal(lplug_plugin_count(f->e), 1);
  free(a);
  free(b);
  free(c);
}

static void load_missing_main_file_is_a_load_error(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "nomain",
                           "name: nomain\nversion: 1.0.0\nmain: src/main.lua\n",
                           NULL);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_ELOAD);
  assert_non_null(strstr(lplug_errmsg(f->e), "cannot load 'src/main.lua': no "
                                             "such file in the plugin folder"));
  free(a);
}

/* A plugin's files are read without waiting: a FIFO put where its
** manifest or main file goes is refused at once, not read (an open for
** reading would wait for a writer forever).  The alarm fails the run
** instead of hanging it if that breaks. */
static void load_fifo_in_place_of_a_file_is_refused_at_once(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "pipe", NULL, "x = 1");
  char *b = support_plugin(f->root, "pipe2", NULL, "x = 1");
  char path[4200];
  snprintf(path, sizeof path, "%s/plugin.yaml", a);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(mkfifo(path, 0600), 0);
  snprintf(path, sizeof path, "%s/init.lua", b);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(mkfifo(path, 0600), 0);
  alarm(10);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_EIO);
  assert_non_null(strstr(lplug_errmsg(f->e), "pipe/plugin.yaml: cannot "
                                             "read: not a regular file"));
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_ELOAD);
  assert_non_null(strstr(lplug_errmsg(f->e), "cannot load 'init.lua': no "
                                             "such file in the plugin folder"));
  alarm(0);
  assert_int_equal(lplug_plugin_count(f->e), 0);
  free(a);
  free(b);
}

static void load_main_from_manifest_is_used(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "m",
                           "name: m\nversion: 1.0.0\nmain: src/main.lua\n",
                           NULL);
  support_write(a, "src/main.lua", "print('main ran')");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_string_equal(f->log.printed, "main ran\n");
  free(a);
}

static void load_unknown_manifest_key_warns(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "w", "name: w\nversion: 1.0.0\ncolour: red\n",
                           "");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(f->log.warnings, 1);
  assert_non_null(strstr(f->log.last_warning, "plugin.yaml:3:1: unknown key "
                                              "'colour'"));
  free(a);
}

static void load_tiny_memory_limit_fails_cleanly(void **state) {
  fixture *f = *state;
  char *a = support_plugin(f->root, "tiny",
                           "name: tiny\nversion: 1.0.0\nlimits:\n  memory: 2KB\n",
                           "");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_EMEM);
  if (!strstr(lplug_errmsg(f->e), "plugin 'tiny': memory limit of 2048 bytes "
                                  "is too small"))
    print_error("%s\n", lplug_errmsg(f->e));
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'tiny': memory limit of "
                                             "2048 bytes is too small"));
  {  /* and says what a state takes (measured), not how far this one got */
    const char *takes = strstr(lplug_errmsg(f->e), "alone takes ");
    assert_non_null(takes);
    assert_true(atol(takes + strlen("alone takes ")) > 8 * 1024);
  }
  free(a);
}

static void load_failed_plugin_leaves_no_handlers(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "h", 0, NULL), LPLUG_OK);
  char *a = support_plugin(f->root, "half", NULL,
                           "require('lplug.hooks').on('h', print)\n"
                           "error('then it fails')\n");
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_ERUNTIME);
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(f->e, "h")), 0);
  lplug_value *v = lplug_value_new();
  assert_int_equal(lplug_hook_run(f->e, "h", v), LPLUG_OK);
  lplug_value_free(v);
  free(a);
}

static void load_errors_have_names_and_texts(void **state) {
  (void)state;
  assert_string_equal(lplug_errname(LPLUG_ECPU), "ECPU");
  assert_string_equal(lplug_errname(LPLUG_OK), "OK");
  assert_string_equal(lplug_errname(-999), "UNKNOWN");
  assert_string_equal(lplug_strerror(LPLUG_EMEM),
                      "plugin exceeded its memory budget");
  assert_string_equal(lplug_strerror(12345), "unknown error");
  assert_int_equal(lplug_version_number(), LPLUG_VERSION_MAJOR * 10000 +
                   LPLUG_VERSION_MINOR * 100 + LPLUG_VERSION_PATCH);
  assert_string_equal(lplug_version(), "0.1.0");
}

static void load_engine_with_default_config(void **state) {
  (void)state;
  lplug_engine *e = lplug_engine_new(NULL);
  assert_non_null(e);
  assert_string_equal(lplug_errmsg(e), "");
  assert_int_equal(lplug_plugin_count(e), 0);
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(e, "none", &st), LPLUG_ENOTFOUND);
  lplug_engine_free(e);
  lplug_engine_free(NULL);
}

/* The functions that take an engine, a name or an out pointer answer a
** NULL one with their "nothing" (a code, 0 or NULL), not a crash. */
static void load_null_arguments_are_answered(void **state) {
  lplug_host *h = (lplug_host *)1;
  char err[64];
  size_t size;
  long long count;
  lplug_stats st;
  (void)state;
  assert_int_equal(lplug_storage_flush(NULL), LPLUG_EINVAL);
  assert_int_equal(lplug_plugin_stats(NULL, "x", &st), LPLUG_EINVAL);
  assert_int_equal(lplug_plugin_count(NULL), 0);
  assert_null(lplug_plugin_name(NULL, 0));
  assert_int_equal(lplug_event_unsubscribe(NULL, 1), LPLUG_EINVAL);
  assert_int_equal(lplug_event_pending(NULL), 0);
  assert_int_equal(lplug_host_load(NULL, &h, err, sizeof err), LPLUG_EIO);
  assert_null(h);
  assert_int_equal(lplug_host_load("x.yaml", NULL, err, sizeof err),
                   LPLUG_EINVAL);
  assert_int_equal(lplug_parse_size(NULL, &size), 0);
  assert_int_equal(lplug_parse_count(NULL, &count), 0);
}

/* A NULL argument is a failure like the others: lplug_errmsg says which
** argument, where it would otherwise show an earlier, unrelated failure
** (or nothing) to a host printing it. */
static void load_null_arguments_say_so_in_the_message(void **state) {
  fixture *f = *state;
  const char *dirs[] = {f->root, NULL};
  lplug_value *v = lplug_value_new(), *out = v;
  lplug_hook *h;
  assert_int_equal(lplug_hook_define(f->e, "t", 0, &h), LPLUG_OK);
#define SAYS(call, text)                                        \
  do {                                                          \
    lplug_hook_run(f->e, "undefined", v);  /* an older failure */ \
    assert_int_equal(call, LPLUG_EINVAL);                       \
    assert_non_null(strstr(lplug_errmsg(f->e), text));          \
  } while (0)
  SAYS(lplug_load_plugin(f->e, NULL), "lplug_load_plugin: no plugin folder");
  SAYS(lplug_load_dir(f->e, NULL), "lplug_load_dir: no plugin folder");
  SAYS(lplug_load_dirs(f->e, NULL, 1), "lplug_load_dirs: no list of folders");
  SAYS(lplug_load_dirs(f->e, dirs, -1), "a negative number of folders");
  SAYS(lplug_load_dirs(f->e, dirs, 2), "plugin folder 2 of 2 is NULL");
  SAYS(lplug_hook_run(f->e, "t", NULL), "hook 't': no value");
  SAYS(lplug_hook_call(h, NULL), "hook 't': no value");
  SAYS(lplug_event_subscribe(f->e, "x", NULL, NULL),
       "lplug_event_subscribe: no function");
  SAYS(lplug_value_from_json(f->e, NULL, 0, &out),
       "lplug_value_from_json: the text is NULL");
#undef SAYS
  assert_null(out);
  lplug_value_free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, \
                                                fixture_teardown)
    T(load_dir_loads_good_plugins_and_skips_bad_ones),
    T(load_dir_records_each_plugins_real_folder),
    T(load_dir_takes_a_folder_as_it_is_when_it_loads),
    T(load_dir_of_missing_folder_is_an_io_error),
    T(load_null_arguments_are_answered),
    T(load_null_arguments_say_so_in_the_message),
    T(load_same_name_twice_is_refused),
    T(load_syntax_error_names_file_and_line),
    T(load_runtime_error_in_main_is_reported),
    T(load_unknown_callback_key_is_a_load_error),
    T(load_missing_main_file_is_a_load_error),
    T(load_fifo_in_place_of_a_file_is_refused_at_once),
    T(load_main_from_manifest_is_used),
    T(load_unknown_manifest_key_warns),
    T(load_tiny_memory_limit_fails_cleanly),
    T(load_failed_plugin_leaves_no_handlers),
    T(load_errors_have_names_and_texts),
    T(load_engine_with_default_config),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("load", tests, NULL, NULL);
}
