/*
** test_chunkcache.c -- compiled plugin code is reused when the same file
** is loaded again, never when it changed, and a plugin cannot tell the
** difference (same errors, same lines, same instruction counts).
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "sandbox/sandbox.h"

static unsigned long long hits(void) {
  unsigned long long h, m;
  chunkcache_counts(&h, &m);
  return h;
}

static unsigned long long misses(void) {
  unsigned long long h, m;
  chunkcache_counts(&h, &m);
  return m;
}

/* Loads the plugin in dir into a new engine and runs hook "t" over nil;
** returns the run's code (or the load's when it failed) and the plugin's
** instruction count in *instructions. */
static int load_fresh(const char *dir, long long *instructions,
                      support_log *log) {
  lplug_engine *e = support_engine(log, 0, 0);
  lplug_stats st;
  int rc;
  lplug_hook_define(e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  rc = lplug_load_plugin(e, dir);
  if (rc == LPLUG_OK) {
    lplug_value *v = lplug_value_new();
    rc = lplug_hook_run(e, "t", v);
    lplug_value_free(v);
    assert_int_equal(lplug_plugin_stats(e, "cached", &st), LPLUG_OK);
    *instructions = (long long)st.instructions;
  }
  lplug_engine_free(e);
  return rc;
}

static const char code_v1[] =
  "local hooks = require 'lplug.hooks'\n"
  "local n = 0 for i = 1, 5000 do n = n + i end\n"
  "hooks.on('t', function() error('version one') end)\n";

static void chunkcache_serves_the_same_file_again(void **state) {
  fixture *f = *state;
  char *dir = support_plugin(f->root, "cached", NULL, code_v1);
  long long first, second;
  unsigned long long h = hits(), m = misses();
  /* compiled, noted; compiled again, kept; then served */
  assert_int_equal(load_fresh(dir, &first, &f->log), LPLUG_ERUNTIME);
  assert_int_equal(load_fresh(dir, &first, &f->log), LPLUG_ERUNTIME);
  assert_int_equal(misses(), m + 2);
  assert_int_equal(hits(), h);
  assert_int_equal(load_fresh(dir, &second, &f->log), LPLUG_ERUNTIME);
  assert_int_equal(hits(), h + 1);
  /* the same error, at the same line, for the same instructions */
  assert_non_null(strstr(f->log.last_message, "cached/init.lua:3: version "
                         "one"));
  assert_int_equal(first, second);
  free(dir);
}

/* Version two is the same length as version one, under the same name:
** only the bytes tell them apart, and each is served its own code. */
static const char code_v2[] =
  "local hooks = require 'lplug.hooks'\n"
  "local n = 0 for i = 1, 5000 do n = n + i end\n"
  "hooks.on('t', function() error('version two') end)\n";

static void chunkcache_never_serves_a_changed_file(void **state) {
  fixture *f = *state;
  char *dir = support_plugin(f->root, "cached", NULL, code_v1);
  long long n;
  unsigned long long h, m;
  assert_int_equal(sizeof code_v1, sizeof code_v2);
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ERUNTIME);
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ERUNTIME);  /* kept */
  h = hits();
  m = misses();
  support_write(dir, "init.lua", code_v2);
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ERUNTIME);
  assert_int_equal(misses(), m + 1);
  assert_int_equal(hits(), h);
  assert_non_null(strstr(f->log.last_message, "version two"));
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ERUNTIME);  /* kept */
  /* both are kept now, side by side: each load gets its own */
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ERUNTIME);
  assert_non_null(strstr(f->log.last_message, "version two"));
  support_write(dir, "init.lua", code_v1);
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ERUNTIME);
  assert_non_null(strstr(f->log.last_message, "version one"));
  assert_int_equal(hits(), h + 2);
  free(dir);
}

static void chunkcache_keeps_no_broken_code(void **state) {
  fixture *f = *state;
  char *dir = support_plugin(f->root, "cached", NULL, "local x = = 1\n");
  long long n;
  unsigned long long h = hits();
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ELOAD);
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ELOAD);
  assert_int_equal(hits(), h);
  assert_non_null(strstr(f->log.last_message, "cached/init.lua:1:"));
  free(dir);
}

static void chunkcache_never_takes_bytecode_from_a_plugin(void **state) {
  fixture *f = *state;
  /* a file holding bytecode (the signature byte first) is text to lplug */
  char *dir = support_plugin(f->root, "cached", NULL, "\x1bLua\x54");
  long long n;
  assert_int_equal(load_fresh(dir, &n, &f->log), LPLUG_ELOAD);
  assert_non_null(strstr(f->log.last_message, "attempt to load a binary "
                         "chunk"));
  free(dir);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, \
                                                 fixture_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(chunkcache_serves_the_same_file_again),
    T(chunkcache_never_serves_a_changed_file),
    T(chunkcache_keeps_no_broken_code),
    T(chunkcache_never_takes_bytecode_from_a_plugin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
