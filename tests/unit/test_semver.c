/*
** test_semver.c -- versions, precedence and ranges, as tables of cases.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/semver.h"

static void semver_parses_versions(void **state) {
  static const struct { const char *text; int ok; } cases[] = {
    {"0.0.0", 1}, {"1.2.3", 1}, {"10.20.30", 1}, {"1.2.3-alpha", 1},
    {"1.2.3-alpha.1", 1}, {"1.2.3-0.3.7", 1}, {"1.2.3-x.7.z.92", 1},
    {"1.2.3+build.5", 1}, {"1.2.3-rc.1+build.5", 1}, {"1.0.0-alpha-a.b", 1},
    {"1.2.3+001", 1},  /* build numbers may have leading zeros */
    {"", 0}, {"1", 0}, {"1.2", 0}, {"1.2.3.4", 0}, {"01.2.3", 0},
    {"1.02.3", 0}, {"1.2.03", 0}, {"1.2.3-", 0}, {"1.2.3-01", 0},
    {"1.2.3-a..b", 0}, {"1.2.3+", 0}, {"v1.2.3", 0}, {"1.2.3 ", 0},
    {" 1.2.3", 0}, {"1.x.3", 0}, {"a.b.c", 0}, {"1.2.3-a_b", 0},
    {"9999999999999.0.0", 0},  /* past SEMVER_MAX_NUMBER */
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    semver v;
    int ok = semver_parse(cases[i].text, &v);
    if (ok != cases[i].ok)
      print_error("semver_parse('%s') = %d, wanted %d\n", cases[i].text, ok,
                  cases[i].ok);
    assert_int_equal(ok, cases[i].ok);
  }
}

static void semver_fields_are_read(void **state) {
  semver v;
  (void)state;
  assert_true(semver_parse("12.34.56-rc.1+b7", &v));
  assert_int_equal(v.major, 12);
  assert_int_equal(v.minor, 34);
  assert_int_equal(v.patch, 56);
  assert_int_equal(v.prelen, 4);
  assert_memory_equal(v.pre, "rc.1", 4);
  assert_true(semver_parse("1.0.0+b", &v));
  assert_null(v.pre);
}

/* Each list is in increasing precedence (semver.org, item 11). */
static void semver_precedence_follows_the_spec(void **state) {
  static const char *const order[] = {
    "0.9.99", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
    "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
    "1.0.1", "1.1.0", "1.10.0", "2.0.0-0", "2.0.0", "10.0.0",
  };
  size_t i, j, n = sizeof order / sizeof order[0];
  (void)state;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) {
      semver a, b;
      int c, want = (i > j) - (i < j);
      assert_true(semver_parse(order[i], &a));
      assert_true(semver_parse(order[j], &b));
      c = semver_compare(&a, &b);
      if (((c > 0) - (c < 0)) != want)
        print_error("compare(%s, %s) = %d, wanted %d\n", order[i], order[j],
                    c, want);
      assert_int_equal((c > 0) - (c < 0), want);
    }
}

static void semver_build_metadata_is_ignored(void **state) {
  semver a, b;
  (void)state;
  assert_true(semver_parse("1.2.3+a", &a));
  assert_true(semver_parse("1.2.3+zzz.9", &b));
  assert_int_equal(semver_compare(&a, &b), 0);
}

static const struct range_case {
  const char *range, *version;
  int ok;
} range_cases[] = {
  /* comparators and partial versions */
  {">=1.2", "1.2.0", 1}, {">=1.2", "1.1.9", 0}, {">= 1.2", "3.0.0", 1},
  {">1.2", "1.2.9", 0}, {">1.2", "1.3.0", 1}, {">1.2.0", "1.2.1", 1},
  {"> 1.2.0", "1.2.0", 0}, {"<2", "1.99.99", 1}, {"<2", "2.0.0", 0},
  {"<=1.2", "1.2.7", 1}, {"<=1.2", "1.3.0", 0}, {"<=1.2.3", "1.2.3", 1},
  {"<=1.2.3", "1.2.4", 0}, {"<1.2", "1.1.9", 1}, {"<1.2", "1.2.0", 0},
  /* exact and X-ranges */
  {"1.2.3", "1.2.3", 1}, {"=1.2.3", "1.2.3", 1}, {"1.2.3", "1.2.4", 0},
  {"= 1.2.3", "1.2.3+build", 1}, {"1.2", "1.2.9", 1}, {"1.2", "1.3.0", 0},
  {"1", "1.9.9", 1}, {"1", "2.0.0", 0}, {"1.x", "1.5.0", 1},
  {"1.2.*", "1.2.5", 1}, {"1.2.x", "1.3.0", 0}, {"*", "0.0.1", 1},
  {"", "5.0.0", 1}, {"  ", "5.0.0", 1},
  /* conjunctions */
  {">= 1.2 < 2", "1.9.0", 1}, {">= 1.2 < 2", "2.1.0", 0},
  {">= 1.2 < 2", "1.1.0", 0}, {">=1.2.3 <=1.2.5", "1.2.4", 1},
  {">1.0.0 <1.0.0", "1.0.0", 0},
  /* caret */
  {"^1.4", "1.4.0", 1}, {"^1.4", "1.9.3", 1}, {"^1.4", "2.0.0", 0},
  {"^1.4", "1.3.9", 0}, {"^1.4.2", "1.4.1", 0}, {"^1", "1.0.0", 1},
  {"^0.3", "0.3.9", 1}, {"^0.3", "0.4.0", 0}, {"^0.3.1", "0.3.0", 0},
  {"^0.0.3", "0.0.3", 1}, {"^0.0.3", "0.0.4", 0}, {"^0.0", "0.0.9", 1},
  {"^0.0", "0.1.0", 0}, {"^0", "0.9.0", 1}, {"^0", "1.0.0", 0},
  /* tilde */
  {"~1.4", "1.4.9", 1}, {"~1.4", "1.5.0", 0}, {"~1.4.2", "1.4.1", 0},
  {"~1.4.2", "1.4.2", 1}, {"~1", "1.9.0", 1}, {"~1", "2.0.0", 0},
  {"~0.3", "0.3.1", 1},
  /* pre-releases: only when a comparator names the same M.m.p */
  {"^1.4", "1.5.0-beta", 0}, {"<2", "2.0.0-rc.1", 0},
  {">=1.0.0", "1.2.0-alpha", 0}, {">=1.2.0-beta", "1.2.0-rc.1", 1},
  {">=1.2.0-beta", "1.2.0-alpha", 0}, {">=1.2.0-beta", "1.3.0-alpha", 0},
  {">=1.2.0-beta", "1.3.0", 1}, {"^1.2.3-beta.2", "1.2.3-beta.4", 1},
  {"^1.2.3-beta.2", "1.2.4-beta.1", 0}, {"1.0.0-rc.1", "1.0.0-rc.1", 1},
  {"<1.0.0", "1.0.0-rc.1", 0}, {"<1.0.0-rc.2", "1.0.0-rc.1", 1},
  {"*", "1.0.0-rc.1", 0},
};

static void semver_ranges_match_as_documented(void **state) {
  size_t i;
  (void)state;
  for (i = 0; i < sizeof range_cases / sizeof range_cases[0]; i++) {
    const struct range_case *c = &range_cases[i];
    semver_range r;
    semver v;
    char err[256];
    int ok;
    if (!semver_range_parse(c->range, &r, err, sizeof err))
      print_error("range '%s': %s\n", c->range, err);
    assert_true(semver_range_parse(c->range, &r, err, sizeof err));
    assert_true(semver_parse(c->version, &v));
    ok = semver_satisfies(&r, &v);
    if (ok != c->ok)
      print_error("'%s' satisfies '%s': %d, wanted %d\n", c->version,
                  c->range, ok, c->ok);
    assert_int_equal(ok, c->ok);
  }
}

static void semver_bad_ranges_say_why(void **state) {
  static const struct { const char *range, *message; } cases[] = {
    {"1.x.y", "'1.x.y' is not a version (expected MAJOR[.MINOR[.PATCH]], "
              "e.g. 1.2 or 1.2.0)"},
    {"=> 1.2", "'=>' is not an operator (use >=, >, <=, <, =, ^ or ~)"},
    {">>1", "'>>' is not an operator"},
    {"!1.2", "'!' is not an operator"},
    {"^1 || ^2", "'||' (either range) is not supported"},
    {">=", "'>=' needs a version after it"},
    {">= 1.2 <", "'<' needs a version after it"},
    {"1.2-beta", "'1.2-beta' is not a version"},
    {"v1.2", "'v1.2' is not a version"},
    {"01.2", "'01.2' is not a version"},
    {"<*", "'<*' matches nothing"},
    {"^1 ^1 ^1 ^1 ^1", "more than 8 comparators"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    semver_range r;
    char err[256] = "";
    int ok = semver_range_parse(cases[i].range, &r, err, sizeof err);
    if (ok || strstr(err, cases[i].message) == NULL)
      print_error("range '%s': ok %d, '%s'; wanted '%s'\n", cases[i].range,
                  ok, err, cases[i].message);
    assert_false(ok);
    assert_non_null(strstr(err, cases[i].message));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(semver_parses_versions),
    cmocka_unit_test(semver_fields_are_read),
    cmocka_unit_test(semver_precedence_follows_the_spec),
    cmocka_unit_test(semver_build_metadata_is_ignored),
    cmocka_unit_test(semver_ranges_match_as_documented),
    cmocka_unit_test(semver_bad_ranges_say_why),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("semver", tests, NULL, NULL);
}
