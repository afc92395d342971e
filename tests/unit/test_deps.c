/*
** test_deps.c -- resolving plugins' depends: and lplug: when loading a
** set of folders (order, ranges, optional, incompatible, missing, cycles,
** failures spreading to dependents and no further) and one plugin.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

typedef struct deps_fixture {
  lplug_engine *e;
  char *root;
  char errors[8192];          /* every on_error message, one a line */
  int nerrors;
  char warnings[2048];
} deps_fixture;

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  deps_fixture *f = ud;
  size_t used = strlen(f->errors);
  (void)plugin; (void)code; (void)traceback;
  f->nerrors++;
  snprintf(f->errors + used, sizeof f->errors - used, "%s\n", message);
}

static void on_log(void *ud, int level, const char *plugin,
                   const char *message) {
  deps_fixture *f = ud;
  size_t used = strlen(f->warnings);
  (void)plugin;
  if (level == LPLUG_LOG_WARN)
    snprintf(f->warnings + used, sizeof f->warnings - used, "%s\n", message);
}

static lplug_engine *new_engine(deps_fixture *f) {
  lplug_config config = {0};
  config.on_error = on_error;
  config.on_log = on_log;
  config.ud = f;
  config.grant = lplug_grant_declared;
  return lplug_engine_new(&config);
}

static int setup(void **state) {
  deps_fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->e = new_engine(f);
  assert_non_null(f->e);
  f->root = support_tmpdir();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  deps_fixture *f = *state;
  lplug_engine_free(f->e);
  support_rmtree(f->root);
  free(f->root);
  free(f);
  return 0;
}

/* Makes plugin `name` at version `version` in folder root/sub/name with
** extra manifest lines `extra` and main file `lua` (NULL: empty). */
static void plugin_in(deps_fixture *f, const char *sub, const char *name,
                      const char *version, const char *extra,
                      const char *lua) {
  char dir[4096], yaml[1024];
  snprintf(dir, sizeof dir, "%s/%s", f->root, sub);
  snprintf(yaml, sizeof yaml, "name: %s\nversion: %s\n%s", name, version,
           extra ? extra : "");
  free(support_plugin(dir, name, yaml, lua ? lua : ""));
}

static void plugin(deps_fixture *f, const char *name, const char *version,
                   const char *extra) {
  plugin_in(f, "p", name, version, extra, NULL);
}

/* Loads root/p as one set; returns the code. */
static int load(deps_fixture *f) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/p", f->root);
  return lplug_load_dir(f->e, dir);
}

/* The loaded plugins' names in load order, "a b c". */
static const char *order(lplug_engine *e) {
  static char out[512];
  int i;
  size_t used = 0;
  out[0] = '\0';
  for (i = 0; i < lplug_plugin_count(e); i++)
    used += (size_t)snprintf(out + used, sizeof out - used, "%s%s",
                             i ? " " : "", lplug_plugin_name(e, i));
  return out;
}

static void expect_error(deps_fixture *f, const char *text) {
  if (strstr(f->errors, text) == NULL)
    print_error("errors:\n%s\nwanted: %s\n", f->errors, text);
  assert_non_null(strstr(f->errors, text));
}

static void deps_load_dependencies_first_then_by_name(void **state) {
  deps_fixture *f = *state;
  plugin(f, "a", "1.0.0", "depends: [b]\n");
  plugin(f, "b", "1.0.0", NULL);
  plugin(f, "c", "1.0.0", "depends: ['a ^1']\n");
  plugin(f, "d", "1.0.0", NULL);
  plugin(f, "aa", "1.0.0", "depends: [d, c]\n");
  assert_int_equal(load(f), LPLUG_OK);
  assert_string_equal(order(f->e), "b a c d aa");
  assert_int_equal(f->nerrors, 0);
}

static void deps_order_ignores_folder_listing_order(void **state) {
  deps_fixture *f = *state;
  char one[4096], two[4096];
  const char *dirs[2];
  char first[512];
  lplug_engine *e2;
  /* Folder names sort against plugin names, across two folders. */
  plugin_in(f, "x", "zeta", "1.0.0", "depends: [alpha]\n", NULL);
  plugin_in(f, "x", "mid", "1.0.0", NULL, NULL);
  plugin_in(f, "y", "alpha", "1.0.0", "depends: ['? mid']\n", NULL);
  plugin_in(f, "y", "beta", "1.0.0", NULL, NULL);
  snprintf(one, sizeof one, "%s/x", f->root);
  snprintf(two, sizeof two, "%s/y", f->root);
  dirs[0] = one;
  dirs[1] = two;
  assert_int_equal(lplug_load_dirs(f->e, dirs, 2), LPLUG_OK);
  snprintf(first, sizeof first, "%s", order(f->e));
  assert_string_equal(first, "beta mid alpha zeta");
  e2 = new_engine(f);
  dirs[0] = two;
  dirs[1] = one;
  assert_int_equal(lplug_load_dirs(e2, dirs, 2), LPLUG_OK);
  assert_string_equal(order(e2), first);
  lplug_engine_free(e2);
}

static void deps_version_ranges_are_checked(void **state) {
  deps_fixture *f = *state;
  plugin(f, "geoip", "2.1.0", NULL);
  plugin(f, "b", "1.0.0", "depends: ['geoip >= 1.2 < 2']\n");
  plugin(f, "c", "1.0.0", "depends: ['geoip ^2.1']\n");
  plugin(f, "d", "1.0.0", "depends: ['geoip ~2.0']\n");
  assert_int_equal(load(f), LPLUG_EDEPEND);
  assert_string_equal(order(f->e), "geoip c");
  expect_error(f, "plugin 'b': needs 'geoip >= 1.2 < 2', but geoip 2.1.0 is "
                  "loaded (install a version of geoip that matches, or change "
                  "the entry at ");
  expect_error(f, "/p/b/plugin.yaml:3:11)");
  expect_error(f, "plugin 'd': needs 'geoip ~2.0', but geoip 2.1.0 is loaded");
  assert_int_equal(f->nerrors, 2);
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'b': needs"));
}

static void deps_missing_dependency_is_named(void **state) {
  deps_fixture *f = *state;
  plugin(f, "b", "1.0.0", "depends: ['utils ^1.4']\n");
  plugin(f, "c", "1.0.0", NULL);
  assert_int_equal(load(f), LPLUG_EDEPEND);
  assert_string_equal(order(f->e), "c");
  expect_error(f, "plugin 'b': needs 'utils ^1.4', which is not installed "
                  "(add utils to a plugin folder, or remove the entry at ");
}

static void deps_optional_present_absent_and_mismatched(void **state) {
  deps_fixture *f = *state;
  plugin(f, "metrics", "1.5.0", NULL);
  plugin(f, "a", "1.0.0", "depends: ['? metrics ^1']\n");    /* present */
  plugin(f, "b", "1.0.0", "depends: ['? tracing']\n");       /* absent */
  plugin(f, "c", "1.0.0", "depends: ['?metrics >=2']\n");    /* bad version */
  assert_int_equal(load(f), LPLUG_EDEPEND);
  assert_string_equal(order(f->e), "b metrics a");
  expect_error(f, "plugin 'c': optionally uses 'metrics >=2', but metrics "
                  "1.5.0 is loaded");
  assert_int_equal(f->nerrors, 1);
}

static void deps_optional_that_fails_only_warns(void **state) {
  deps_fixture *f = *state;
  plugin_in(f, "p", "metrics", "1.0.0", NULL, "error('no metrics today')");
  plugin(f, "a", "1.0.0", "depends: ['? metrics']\n");
  assert_int_equal(load(f), LPLUG_ERUNTIME);
  assert_string_equal(order(f->e), "a");
  assert_int_equal(f->nerrors, 1);
  assert_non_null(strstr(f->warnings, "plugin 'a': loads without its "
                                      "optional dependency 'metrics', which "
                                      "failed to load"));
}

static void deps_incompatible_plugins_are_refused(void **state) {
  deps_fixture *f = *state;
  plugin(f, "old-redact", "1.0.0", NULL);
  plugin(f, "x", "1.0.0", "depends: ['! old-redact']\n");
  plugin(f, "y", "1.0.0", "depends: ['! old-redact >= 2']\n");  /* not hit */
  assert_int_equal(load(f), LPLUG_EDEPEND);
  assert_string_equal(order(f->e), "old-redact y");
  expect_error(f, "plugin 'x': is incompatible with 'old-redact' (at ");
  expect_error(f, "), but old-redact 1.0.0 is loaded (remove one of the "
                  "two)");
  assert_int_equal(f->nerrors, 1);
}

static void deps_incompatible_waiting_in_the_set_is_refused(void **state) {
  deps_fixture *f = *state;
  plugin(f, "a", "1.0.0", "depends: ['! zed']\n");  /* zed loads after a */
  plugin(f, "zed", "3.0.0", NULL);
  assert_int_equal(load(f), LPLUG_EDEPEND);
  assert_string_equal(order(f->e), "zed");
  expect_error(f, "plugin 'a': is incompatible with 'zed' (at ");
  expect_error(f, "but zed 3.0.0 is being loaded too (from ");
}

static void deps_cycle_names_the_whole_chain(void **state) {
  deps_fixture *f = *state;
  plugin(f, "b", "1.0.0", "depends: [c]\n");
  plugin(f, "c", "1.0.0", "depends: [a]\n");
  plugin(f, "a", "1.0.0", "depends: [b]\n");
  plugin(f, "d", "1.0.0", "depends: [b]\n");
  plugin(f, "e", "1.0.0", NULL);
  plugin(f, "self", "1.0.0", "depends: ['? self']\n");
  assert_int_equal(load(f), LPLUG_EDEPEND);
  assert_string_equal(order(f->e), "e");
  expect_error(f, "plugin 'a': dependency cycle: a -> b -> c -> a (each "
                  "needs the next loaded first; remove one of these depends: "
                  "entries)\n");
  expect_error(f, "plugin 'b': dependency cycle: a -> b -> c -> a");
  expect_error(f, "plugin 'c': dependency cycle: a -> b -> c -> a");
  expect_error(f, "plugin 'd': cannot load: it depends on 'b', which failed "
                  "to load (plugin 'b': dependency cycle: a -> b -> c -> a");
  expect_error(f, "plugin 'self': dependency cycle: self -> self");
  assert_int_equal(f->nerrors, 5);
  /* Reported in load order: the cycle first, by name. */
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'a': dependency cycle"));
}

static void deps_failing_dependency_fails_dependents_only(void **state) {
  deps_fixture *f = *state;
  plugin_in(f, "p", "y", "1.0.0", NULL, "local t = nil\nt.x = 1\n");
  plugin(f, "x", "1.0.0", "depends: [y]\n");
  plugin(f, "w", "1.0.0", "depends: [x]\n");
  plugin(f, "z", "1.0.0", NULL);
  assert_int_equal(load(f), LPLUG_ERUNTIME);
  assert_string_equal(order(f->e), "z");
  expect_error(f, "plugin 'y': error in loading: y/init.lua:2: attempt to "
                  "index");
  expect_error(f, "plugin 'x': cannot load: it depends on 'y', which failed "
                  "to load (plugin 'y': error in loading: y/init.lua:2:");
  expect_error(f, "plugin 'w': cannot load: it depends on 'x', which failed "
                  "to load (plugin 'x': cannot load: it depends on 'y'");
  assert_int_equal(f->nerrors, 3);
}

static void deps_broken_manifest_is_not_called_missing(void **state) {
  deps_fixture *f = *state;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/p", f->root);
  free(support_plugin(dir, "geoip", "name: geoip\nversion: 1.x\n", ""));
  plugin(f, "b", "1.0.0", "depends: [geoip]\n");
  assert_int_equal(load(f), LPLUG_EMANIFEST);
  expect_error(f, "plugin 'b': cannot load: it depends on 'geoip', which "
                  "failed to load (");
  expect_error(f, "geoip/plugin.yaml:2:10: version: '1.x' is not a semantic "
                  "version");
  assert_int_equal(f->nerrors, 2);
}

static void deps_engine_version_is_checked(void **state) {
  deps_fixture *f = *state;
  plugin(f, "old", "1.0.0", "lplug: '>= 0.1 < 1'\n");
  plugin(f, "new", "1.0.0", "lplug: '>= 0.2'\n");
  plugin(f, "uses-new", "1.0.0", "depends: [new]\n");
  assert_int_equal(load(f), LPLUG_EDEPEND);
  assert_string_equal(order(f->e), "old");
  expect_error(f, "plugin 'new': needs lplug '>= 0.2' (at ");
  expect_error(f, "/p/new/plugin.yaml:3:8), but this is lplug 0.1.0 (use a "
                  "version of 'new' made for lplug 0.1.0, or change lplug:)");
  expect_error(f, "plugin 'uses-new': cannot load: it depends on 'new'");
}

static void deps_one_plugin_checks_what_is_loaded(void **state) {
  deps_fixture *f = *state;
  char a[4096], b[4096], c[4096];
  plugin(f, "lib", "1.4.2", NULL);
  plugin(f, "app", "1.0.0", "depends: ['lib ^1.4']\n");
  plugin(f, "rival", "1.0.0", "depends: ['! app']\n");
  snprintf(a, sizeof a, "%s/p/app", f->root);
  snprintf(b, sizeof b, "%s/p/lib", f->root);
  snprintf(c, sizeof c, "%s/p/rival", f->root);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_EDEPEND);
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'app': needs 'lib "
                                             "^1.4', which is not installed"));
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, c), LPLUG_EDEPEND);
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'rival': is "
                                             "incompatible with 'app'"));
  assert_string_equal(order(f->e), "lib app");
}

static void deps_loaded_plugin_refuses_what_it_declares_incompatible(
    void **state) {
  deps_fixture *f = *state;
  char a[4096], b[4096];
  plugin(f, "guard", "1.0.0", "depends: ['! legacy < 2']\n");
  plugin(f, "legacy", "1.3.0", NULL);
  snprintf(a, sizeof a, "%s/p/guard", f->root);
  snprintf(b, sizeof b, "%s/p/legacy", f->root);
  assert_int_equal(lplug_load_plugin(f->e, a), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_EDEPEND);
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'legacy': loaded plugin "
                         "'guard' is incompatible with 'legacy < 2' (at "));
  assert_non_null(strstr(lplug_errmsg(f->e), "and this is legacy 1.3.0 "
                                             "(remove one of the two)"));
  /* the engine counts loaded plugins declaring "! name" and checks only
  ** while there are some: a reload of guard keeps it counted, an unload
  ** ends it */
  assert_int_equal(lplug_reload(f->e, "guard"), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_EDEPEND);
  assert_int_equal(lplug_plugin_unload(f->e, "guard"), LPLUG_OK);
  assert_int_equal(lplug_load_plugin(f->e, b), LPLUG_OK);
}

static void deps_set_sees_plugins_loaded_before(void **state) {
  deps_fixture *f = *state;
  char lib[4096];
  plugin_in(f, "base", "lib", "2.0.0", NULL, NULL);
  plugin(f, "app", "1.0.0", "depends: ['lib 2']\n");
  snprintf(lib, sizeof lib, "%s/base/lib", f->root);
  assert_int_equal(lplug_load_plugin(f->e, lib), LPLUG_OK);
  assert_int_equal(load(f), LPLUG_OK);
  assert_string_equal(order(f->e), "lib app");
}

static void deps_duplicate_names_first_folder_wins(void **state) {
  deps_fixture *f = *state;
  char one[4096], two[4096];
  const char *dirs[2];
  plugin_in(f, "one", "same", "1.0.0", NULL, "print('one')");
  plugin_in(f, "two", "same", "2.0.0", NULL, "print('two')");
  snprintf(one, sizeof one, "%s/one", f->root);
  snprintf(two, sizeof two, "%s/two", f->root);
  dirs[0] = one;
  dirs[1] = two;
  assert_int_equal(lplug_load_dirs(f->e, dirs, 2), LPLUG_EEXIST);
  assert_string_equal(order(f->e), "same");
  expect_error(f, "/two/same/plugin.yaml: a plugin named 'same' is also in ");
  expect_error(f, "/one/same (names must be unique; this one is skipped)");
}

/* A plugin's own folder among the set's folders is that plugin, ordered
** with the others: here the set's plugin depends on it. */
static void deps_plugin_folder_in_the_set_is_one_plugin(void **state) {
  deps_fixture *f = *state;
  char set[4096], own[4096];
  const char *dirs[2];
  plugin_in(f, "set", "app", "1.0.0", "depends: [lib]\n", NULL);
  plugin_in(f, "other", "lib", "1.0.0", NULL, NULL);
  plugin_in(f, "other", "unlisted", "1.0.0", NULL, NULL);
  snprintf(set, sizeof set, "%s/set", f->root);
  snprintf(own, sizeof own, "%s/other/lib", f->root);
  dirs[0] = set;
  dirs[1] = own;
  assert_int_equal(lplug_load_dirs(f->e, dirs, 2), LPLUG_OK);
  assert_string_equal(order(f->e), "lib app");
  assert_int_equal(f->nerrors, 0);
}

/* One folder reached twice is read once, not a clash of names: given
** twice (once with a trailing '/'), through a link to it, and a plugin's
** folder beside the folder holding it.  Each plugin loads once, and no
** failure is reported.  A message about a folder given with a trailing
** '/' names its files with one '/'. */
static void deps_a_folder_given_twice_is_read_once(void **state) {
  deps_fixture *f = *state;
  char set[4096], slash[4096], link[4096], own[4096];
  const char *dirs[4];
  plugin_in(f, "set", "a", "1.0.0", NULL, "print('a')");
  plugin_in(f, "set", "b", "1.0.0", NULL, NULL);
  snprintf(set, sizeof set, "%s/set", f->root);
  snprintf(slash, sizeof slash, "%s/set/", f->root);
  snprintf(link, sizeof link, "%s/link", f->root);
  snprintf(own, sizeof own, "%s/set/b", f->root);
  assert_int_equal(symlink(set, link), 0);
  dirs[0] = set;
  dirs[1] = slash;
  dirs[2] = link;
  dirs[3] = own;
  assert_int_equal(lplug_load_dirs(f->e, dirs, 4), LPLUG_OK);
  assert_string_equal(order(f->e), "a b");
  assert_int_equal(f->nerrors, 0);
  plugin_in(f, "bad", "c", "1.0.0", "version: 2.0.0\n", NULL);
  snprintf(slash, sizeof slash, "%s/bad/", f->root);
  assert_int_not_equal(lplug_load_dir(f->e, slash), LPLUG_OK);
  expect_error(f, "/bad/c/plugin.yaml:");
  assert_null(strstr(f->errors, "//"));
}

static void deps_unreadable_folder_loads_nothing(void **state) {
  deps_fixture *f = *state;
  char good[4096];
  const char *dirs[2];
  plugin(f, "a", "1.0.0", NULL);
  snprintf(good, sizeof good, "%s/p", f->root);
  dirs[0] = good;
  dirs[1] = "/nonexistent/plugins";
  assert_int_equal(lplug_load_dirs(f->e, dirs, 2), LPLUG_EIO);
  assert_string_equal(lplug_errmsg(f->e),
                      "cannot read plugin folder '/nonexistent/plugins': "
                      "No such file or directory");
  assert_int_equal(lplug_plugin_count(f->e), 0);
  assert_int_equal(lplug_load_dirs(f->e, NULL, 0), LPLUG_OK);
  assert_int_equal(lplug_load_dirs(f->e, NULL, 1), LPLUG_EINVAL);
}

/* A set's failures are reported while the set loads: on_error may not
** load or unload then (LPLUG_ESTATE), as for a single load. */
static int unload_in_report = 1, load_in_report = 1;
static lplug_engine *reporting;

static void unload_from_report(void *ud, const char *plugin, int code,
                               const char *message, const char *traceback) {
  const char *root = ud;
  char dir[4096];
  (void)plugin; (void)code; (void)message; (void)traceback;
  snprintf(dir, sizeof dir, "%s/p", root);
  unload_in_report = lplug_plugin_unload(reporting, "a");
  load_in_report = lplug_load_dir(reporting, dir);
}

static void deps_set_failures_are_reported_while_busy(void **state) {
  deps_fixture *f = *state;
  lplug_config config = {0};
  char dir[4096];
  plugin(f, "a", "1.0.0", NULL);
  plugin(f, "b", "1.0.0", "depends: [missing]\n");
  snprintf(dir, sizeof dir, "%s/p", f->root);
  config.on_error = unload_from_report;
  config.ud = f->root;
  config.grant = lplug_grant_declared;
  reporting = lplug_engine_new(&config);
  assert_non_null(reporting);
  assert_int_equal(lplug_load_dir(reporting, dir), LPLUG_EDEPEND);
  assert_int_equal(unload_in_report, LPLUG_ESTATE);
  assert_int_equal(load_in_report, LPLUG_ESTATE);
  assert_string_equal(order(reporting), "a");
  lplug_engine_free(reporting);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    T(deps_load_dependencies_first_then_by_name),
    T(deps_set_failures_are_reported_while_busy),
    T(deps_order_ignores_folder_listing_order),
    T(deps_version_ranges_are_checked),
    T(deps_missing_dependency_is_named),
    T(deps_optional_present_absent_and_mismatched),
    T(deps_optional_that_fails_only_warns),
    T(deps_incompatible_plugins_are_refused),
    T(deps_incompatible_waiting_in_the_set_is_refused),
    T(deps_cycle_names_the_whole_chain),
    T(deps_failing_dependency_fails_dependents_only),
    T(deps_broken_manifest_is_not_called_missing),
    T(deps_engine_version_is_checked),
    T(deps_one_plugin_checks_what_is_loaded),
    T(deps_loaded_plugin_refuses_what_it_declares_incompatible),
    T(deps_set_sees_plugins_loaded_before),
    T(deps_duplicate_names_first_folder_wins),
    T(deps_plugin_folder_in_the_set_is_one_plugin),
    T(deps_unreadable_folder_loads_nothing),
    T(deps_a_folder_given_twice_is_read_once),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("deps", tests, NULL, NULL);
}
