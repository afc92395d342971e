/*
** test_hostile.c -- runs every plugin of tests/hostile/ and asserts its
** containment.
**
** Each tests/hostile/<name>/init.lua opens with comments stating the
** attack and the containment; the runner reads two of them:
**
**   -- expect: <load|run> <OK|ECPU|EMEM|ERUNTIME|EVALUE|...> [text]
**      (two codes as ECPU|EMEM: either is containment, e.g. where the
**      modes stop the plugin by different limits)
**   -- modes: instructions deadline      (optional; both by default)
**
** "load" means loading the plugin must fail that way; "run" means it
** loads, and running hook "attack" over the value 1 must end so.  The
** message must contain `text` and, for ECPU and EMEM, the limit of the
** mode ("instruction budget of 1000000 spent", "time limit of", "memory
** budget of").
** After each plugin, in each mode, on a fresh engine: the host is alive;
** a benign plugin loaded first still answers hook "ping"; the hostile
** plugin holds no more memory than its limit; the host's log got no more
** lines than the rate limit lets through (100 at once, 50 a second); and
** none of its storage writes survived (the SQLite file is read directly).  Limits are small
** (256 KB, 1M instructions or 50 ms) so that the whole run takes seconds.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <time.h>

#include "fixture.h"
#include "sandbox/sandbox.h"

#define HOSTILE_DIR "tests/hostile"
#define MS 1000000LL
#define MEMORY (256 * 1024)
#define BOUND_NS (120000 * MS)  /* generous: only a hang is a failure (a
                                  case takes milliseconds, but valgrind and
                                  a loaded machine slow it a hundredfold) */

enum mode { INSTRUCTIONS = 1, DEADLINE = 2 };

typedef struct expectation {
  int at_load;
  int code, or_code;   /* or_code: a second code accepted, or code */
  char text[200];
  int modes;
} expectation;

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int code_of(const char *name) {
  int c;
  for (c = 0; c >= LPLUG_ERRNO_MIN_; c--)
    if (strcmp(lplug_errname(c), name) == 0) return c;
  fail_msg("unknown code '%s'", name);
  return 1;
}

/* Reads the expect: and modes: lines of dir/init.lua. */
static void read_expectation(const char *dir, expectation *x) {
  char path[4096], line[512];
  FILE *fp;
  int seen = 0;
  snprintf(path, sizeof path, "%s/init.lua", dir);
  fp = fopen(path, "r");
  if (fp == NULL) fail_msg("%s: no init.lua", dir);
  memset(x, 0, sizeof *x);
  x->modes = INSTRUCTIONS | DEADLINE;
  while (fgets(line, sizeof line, fp) && strncmp(line, "--", 2) == 0) {
    char phase[16], code[16];
    int used = 0;
    line[strcspn(line, "\n")] = '\0';
    if (sscanf(line, "-- expect: %15s %15s %n", phase, code, &used) >= 2) {
      x->at_load = strcmp(phase, "load") == 0;
      char *bar = strchr(code, '|');  /* "ECPU|EMEM": either limit */
      if (bar != NULL) *bar = '\0';
      x->code = code_of(code);
      x->or_code = bar != NULL ? code_of(bar + 1) : x->code;
      snprintf(x->text, sizeof x->text, "%s", used ? line + used : "");
      seen = 1;
    } else if (strncmp(line, "-- modes:", 9) == 0) {
      x->modes = (strstr(line, "instructions") ? INSTRUCTIONS : 0) |
                 (strstr(line, "deadline") ? DEADLINE : 0);
    }
  }
  fclose(fp);
  if (!seen) fail_msg("%s: no '-- expect:' line in the opening comment", dir);
}

/* In deadline mode a case that expects the memory limit gets a long
** deadline: which limit comes first must not depend on the machine's
** speed (under valgrind 50 ms pass before a memory bomb fills 256 KB). */
static lplug_engine *engine_for(support_log *log, int mode, const char *db,
                                int expected) {
  lplug_config config = {0};
  config.memory_limit = MEMORY;
  if (mode == INSTRUCTIONS) config.instruction_limit = 1000000;
  else config.time_limit = (expected == LPLUG_EMEM ? 60000 : 50) * MS;
  config.storage_path = db;
  config.storage_quota = 64 * 1024;
  config.grant = lplug_grant_declared;
  return support_engine_with(log, &config);
}

/* Rows the plugin `name` has in the storage file db. */
static int stored_rows(const char *db, const char *name) {
  sqlite3 *s;
  sqlite3_stmt *st;
  int n = 0;
  if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    sqlite3_close(s);
    return 0;  /* no plugin ever opened storage */
  }
  if (sqlite3_prepare_v2(s, "SELECT count(*) FROM lplug_storage WHERE "
                         "plugin = ?", -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(s);
  return n;
}

/* In instruction mode the budget must be what stopped the call, not the
** backstop, whose message names the budget it did not spend. */
static const char *limit_text(int code, int mode) {
  if (code == LPLUG_ECPU)
    return mode == INSTRUCTIONS ? "instruction budget of 1000000 spent"
                                : "time limit of";
  if (code == LPLUG_EMEM) return "memory budget of";
  return "";
}

/* Runs plugin `name` in one mode and checks everything the header says. */
static void run_one(const char *root, const char *name, int mode) {
  char dir[4096], db[4096];
  expectation x;
  support_log log;
  lplug_engine *e;
  lplug_value *v = lplug_value_new();
  lplug_stats st;
  long long t0 = now_ns(), spent;
  char *benign;
  int rc;
  snprintf(dir, sizeof dir, "%s/%s", HOSTILE_DIR, name);
  read_expectation(dir, &x);
  if (!(x.modes & mode)) {
    lplug_value_free(v);
    return;
  }
  snprintf(db, sizeof db, "%s/%s-%d.db", root, name, mode);
  e = engine_for(&log, mode, db, x.code);
  assert_int_equal(lplug_hook_define(e, "attack", LPLUG_HOOK_FAIL_CLOSED,
                                     NULL), LPLUG_OK);
  assert_int_equal(lplug_hook_define(e, "ping", LPLUG_HOOK_FAIL_CLOSED, NULL),
                   LPLUG_OK);
  benign = support_plugin(root, "benign", NULL,
    "require('lplug.hooks').on('ping', function(v) return v + 1 end)");
  assert_int_equal(lplug_load_plugin(e, benign), LPLUG_OK);
  free(benign);

  rc = lplug_load_plugin(e, dir);
  if (!x.at_load) {
    if (rc != LPLUG_OK)
      fail_msg("%s (mode %d): load failed with %s: %s", name, mode,
               lplug_errname(rc), lplug_errmsg(e));
    lplug_value_free(v);
    v = support_record("attack", 1);
    rc = lplug_hook_run(e, "attack", v);
  }
  spent = now_ns() - t0;
  {
    const char *msg = x.at_load ? lplug_errmsg(e) : log.last_message;
    if ((rc != x.code && rc != x.or_code) || (x.code != LPLUG_OK &&
                         (strstr(msg, x.text) == NULL ||
                          strstr(msg, limit_text(rc, mode)) == NULL)))
      fail_msg("%s (mode %d): got %s \"%s\", wanted %s with \"%s\" \"%s\"",
               name, mode, lplug_errname(rc), msg, lplug_errname(x.code),
               x.text, limit_text(x.code, mode));
  }
  if (spent > BOUND_NS)
    fail_msg("%s (mode %d): took %lld ms", name, mode, spent / MS);
  {
    int lines = log.logs[0] + log.logs[1] + log.logs[2] + log.logs[3];
    if (lines > 100 + 50 * (double)spent / 1e9 + 1)
      fail_msg("%s (mode %d): the host's log got %d lines in %lld ms", name,
               mode, lines, spent / MS);
  }
  /* memory back under the limit, if it is still loaded */
  if (lplug_plugin_stats(e, name, &st) == LPLUG_OK &&
      st.memory > st.memory_limit + SANDBOX_SLACK)
    fail_msg("%s (mode %d): holds %zu bytes over a limit of %zu", name, mode,
             st.memory, st.memory_limit);
  /* another plugin still answers */
  lplug_value_free(v);
  v = lplug_value_new();
  lplug_builder *b = lplug_builder_new();
  lplug_build_integer(b, 41);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  lplug_builder_free(b);
  rc = lplug_hook_run(e, "ping", v);
  if (rc != LPLUG_OK || lplug_value_integer(v, 0, NULL) != 42)
    fail_msg("%s (mode %d): the benign plugin no longer answers: %s", name,
             mode, log.last_message);
  lplug_value_free(v);
  lplug_engine_free(e);
  /* nothing the plugin wrote before failing was kept */
  if (x.code != LPLUG_OK && stored_rows(db, name) != 0)
    fail_msg("%s (mode %d): its storage writes survived the failure", name,
             mode);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The plugin folders, sorted; *n gets their number. */
static char **list_plugins(int *n) {
  DIR *d = opendir(HOSTILE_DIR);
  struct dirent *ent;
  char **names = NULL;
  int cap = 0;
  *n = 0;
  assert_non_null(d);
  while ((ent = readdir(d)) != NULL) {
    if (ent->d_name[0] == '.' || ent->d_name[0] == '_') continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 64;
      names = realloc(names, (size_t)cap * sizeof *names);
      assert_non_null(names);
    }
    names[(*n)++] = strdup(ent->d_name);
  }
  closedir(d);
  qsort(names, (size_t)*n, sizeof *names, by_name);
  return names;
}

/* One test per plugin and mode, so that each shows in the counts. */
typedef struct hostile_case {
  char name[256];
  char test_name[300];
  int mode;
} hostile_case;

static void run_case(void **state) {
  hostile_case *c = *state;
  char *root = support_tmpdir();
  run_one(root, c->name, c->mode);
  support_rmtree(root);
  free(root);
}

int main(void) {
  int n, i, count = 0, rc;
  char **names = list_plugins(&n);
  const char *only = getenv("HOSTILE");
  hostile_case *cases = calloc((size_t)n * 2, sizeof *cases);
  struct CMUnitTest *tests = calloc((size_t)n * 2, sizeof *tests);
  if (cases == NULL || tests == NULL) return 1;
  if (n < 60 && only == NULL) {
    fprintf(stderr, "test_hostile: only %d plugins in %s\n", n, HOSTILE_DIR);
    return 1;
  }
  for (i = 0; i < n * 2; i++) {
    hostile_case *c = &cases[count];
    int mode = i % 2 ? DEADLINE : INSTRUCTIONS;
    expectation x;
    char dir[4096];
    if (only != NULL && strcmp(only, names[i / 2]) != 0) continue;
    snprintf(dir, sizeof dir, "%s/%s", HOSTILE_DIR, names[i / 2]);
    read_expectation(dir, &x);
    if (!(x.modes & mode)) continue;
    snprintf(c->name, sizeof c->name, "%s", names[i / 2]);
    snprintf(c->test_name, sizeof c->test_name, "hostile_%s_%s", c->name,
             mode == INSTRUCTIONS ? "instructions" : "deadline");
    c->mode = mode;
    tests[count].name = c->test_name;
    tests[count].test_func = run_case;
    tests[count].initial_state = c;
    count++;
  }
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  rc = _cmocka_run_group_tests("hostile", tests, (size_t)count, NULL, NULL);
  for (i = 0; i < n; i++) free(names[i]);
  free(names);
  free(cases);
  free(tests);
  return rc;
}
