/*
** fixture.h -- the per-test engine most tests share: a fresh engine with
** an error log and a temporary folder for plugins, freed after the test
** so that ASan and valgrind stay quiet.
*/
#ifndef LPLUG_TEST_FIXTURE_H
#define LPLUG_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

typedef struct fixture {
  lplug_engine *e;
  support_log log;
  char *root;
  int n;  /* plugins made, for unique names */
} fixture;

static inline int fixture_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->e = support_engine(&f->log, 0, 0);
  f->root = support_tmpdir();
  *state = f;
  return 0;
}

static inline int fixture_setup_small(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->e = support_engine(&f->log, 256 * 1024, 200000);
  f->root = support_tmpdir();
  *state = f;
  return 0;
}

static inline int fixture_teardown(void **state) {
  fixture *f = *state;
  lplug_engine_free(f->e);
  support_rmtree(f->root);
  free(f->root);
  free(f);
  return 0;
}

/* Runs body as a handler of a new plugin; returns the code. */
static inline int eval(fixture *f, const char *body, lplug_value *value) {
  char name[32];
  snprintf(name, sizeof name, "p%d", ++f->n);
  return support_eval(f->e, f->root, name, body, value);
}

/* Asserts that body runs without error, printing the plugin's message if
** it does not. */
static inline void expect_ok(fixture *f, const char *body) {
  int rc = eval(f, body, NULL);
  if (rc != LPLUG_OK) print_error("%s\n", f->log.last_message);
  assert_int_equal(rc, LPLUG_OK);
}

/* Asserts that body fails with `code` and a message containing `text`. */
static inline void expect_error(fixture *f, const char *body, int code,
                         const char *text) {
  int rc = eval(f, body, NULL);
  if (rc != code || strstr(f->log.last_message, text) == NULL)
    print_error("got %s: %s\nwanted %s with: %s\n", lplug_errname(rc),
                f->log.last_message, lplug_errname(code), text);
  assert_int_equal(rc, code);
  assert_non_null(strstr(f->log.last_message, text));
}

#endif
