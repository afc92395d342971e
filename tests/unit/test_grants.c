/*
** test_grants.c -- a plugin gets what its manifest declares AND the host
** grants; the C API grants nothing by itself; refusals are counted.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

/* Grants everything but hook point "admin"; records what it was asked. */
typedef struct asked {
  int calls;
  char last[128];
} asked;

static int no_admin(void *ud, const char *plugin, const char *capability,
                    const char *item) {
  (void)ud;
  (void)plugin;
  (void)capability;
  return item == NULL || strcmp(item, "admin") != 0;
}

static asked seen;

static int recording(void *ud, const char *plugin, const char *capability,
                     const char *item) {
  (void)ud;
  seen.calls++;
  snprintf(seen.last, sizeof seen.last, "%s/%s/%s", plugin, capability,
           item ? item : "-");
  return 1;
}

static lplug_engine *engine_with(support_log *log, lplug_grant_fn grant) {
  lplug_config config;
  memset(&config, 0, sizeof config);
  config.ud = log;
  config.grant = grant;
  lplug_engine *e = lplug_engine_new(&config);
  assert_non_null(e);
  assert_int_equal(lplug_hook_define(e, "record", 0, NULL), LPLUG_OK);
  assert_int_equal(lplug_hook_define(e, "admin", 0, NULL), LPLUG_OK);
  return e;
}

static int load(lplug_engine *e, const char *root, const char *name,
                const char *code) {
  char *dir = support_plugin(root, name, NULL, code);
  int rc = lplug_load_plugin(e, dir);
  free(dir);
  return rc;
}

static void grants_c_api_grants_nothing_by_default(void **state) {
  fixture *f = *state;
  lplug_engine *e = engine_with(&f->log, NULL);
  assert_int_equal(load(e, f->root, "eager", "require 'lplug.hooks'"),
                   LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(e),
    "eager/init.lua:1: require 'lplug.hooks': the host does not grant "
    "capability 'hooks' to plugin 'eager'"));
  lplug_engine_free(e);
}

static void grants_host_may_refuse_one_item(void **state) {
  fixture *f = *state;
  lplug_engine *e = engine_with(&f->log, no_admin);
  lplug_stats st;
  assert_int_equal(load(e, f->root, "ok", "local hooks = require 'lplug.hooks'\n"
                        "hooks.on('record', print)"), LPLUG_OK);
  assert_int_equal(load(e, f->root, "sneaky",
                        "local hooks = require 'lplug.hooks'\n"
                        "hooks.on('record', print)\n"
                        "hooks.on('admin', print)"), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(e),
    "sneaky/init.lua:3: hooks.on: the host does not grant 'admin' of "
    "capability 'hooks' to plugin 'sneaky'"));
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(e, "record")), 1);
  assert_int_equal(lplug_hook_handlers(lplug_hook_find(e, "admin")), 0);
  assert_int_equal(lplug_plugin_stats(e, "ok", &st), LPLUG_OK);
  assert_int_equal(st.denials, 0);
  lplug_engine_free(e);
}

static void grants_are_asked_only_for_what_is_declared(void **state) {
  fixture *f = *state;
  lplug_engine *e = engine_with(&f->log, recording);
  char *dir = support_plugin(f->root, "narrow",
    "name: narrow\nversion: 1.0.0\ncapabilities:\n  hooks: [record]\n",
    "local hooks = require 'lplug.hooks'\n"
    "hooks.on('record', print)\n"
    "local ok, err = pcall(hooks.on, 'admin', print)\n"
    "assert(not ok and err:find('does not declare'))\n");
  memset(&seen, 0, sizeof seen);
  assert_int_equal(lplug_load_plugin(e, dir), LPLUG_OK);
  assert_int_equal(seen.calls, 2);  /* the capability, then 'record' */
  assert_string_equal(seen.last, "narrow/hooks/record");
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(e, "narrow", &st), LPLUG_OK);
  assert_int_equal(st.denials, 1);
  free(dir);
  lplug_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, \
                                                fixture_teardown)
    T(grants_c_api_grants_nothing_by_default),
    T(grants_host_may_refuse_one_item),
    T(grants_are_asked_only_for_what_is_declared),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("grants", tests, NULL, NULL);
}
