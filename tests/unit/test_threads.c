/*
** test_threads.c -- engines on several threads at once (lplug.h: "different
** engines may be used on different threads at once").
**
** What threads share inside the library: the bytecode cache
** (sandbox/chunkcache.c, process-wide, one mutex), the stock functions
** the guards call (sandbox/guards.c, process-wide, learnt by whichever
** state opens first), the deadline watchdog's signal handler and each
** engine's watchdog thread (sandbox/watchdog.c), and the C library.  These tests load the same plugin files on every
** thread (cache hits and misses racing), run hooks, events, storage and
** reloads, and stop runaway and memory-hungry handlers in instruction and
** deadline mode while the other threads keep working.  `make tsan` runs
** them under ThreadSanitizer.
**
** Worker threads never call cmocka (its assertions longjmp into the main
** thread's stack): each worker records what went wrong and the main
** thread asserts after joining.  Only counts and codes are asserted,
** never times.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "sandbox/sandbox.h"

#define THREADS 4
#define ROUNDS 150

/* Counts one record per call in storage and in its state, emits "tick";
** save/restore carry the state over a reload.  Shared by every thread. */
static const char counter_lua[] =
    "local hooks = require 'lplug.hooks'\n"
    "local storage = require 'lplug.storage'\n"
    "local events = require 'lplug.events'\n"
    "local seen = 0\n"
    "hooks.on('t', function(rec)\n"
    "  seen = seen + 1\n"
    "  rec.stored = storage.incr('seen')\n"
    "  rec.seen = seen\n"
    "  events.emit('tick', { n = rec.n })\n"
    "  return rec\n"
    "end)\n"
    "hooks.on('q', function(rec) rec.counter = storage.get('seen')\n"
    "  return rec end)\n"
    "return { save = function() return seen end,\n"
    "         restore = function(s) seen = s end }\n";

static const char counter_yaml[] =
    "name: counter\nversion: 1.0.0\ncapabilities:\n  hooks: [t, q]\n"
    "  storage: {}\n  events: { emit: [tick] }\n";

/* Counts the ticks delivered to it. */
static const char listener_lua[] =
    "local hooks = require 'lplug.hooks'\n"
    "local events = require 'lplug.events'\n"
    "local ticks, sum = 0, 0\n"
    "events.on('tick', function(p) ticks = ticks + 1\n"
    "  sum = sum + p.n end)\n"
    "hooks.on('q', function(rec) rec.ticks = ticks rec.sum = sum\n"
    "  return rec end)\n";

static const char listener_yaml[] =
    "name: listener\nversion: 1.0.0\ncapabilities:\n  hooks: [q]\n"
    "  events: { on: [tick] }\n";

/* Never returns from "spin" unless stopped.  Its own deadline is short
** (the host's is long enough that no ordinary call on a busy machine
** meets it).  The loop allocates: ThreadSanitizer delivers a signal only
** when the thread next enters its runtime (an intercepted call such as
** realloc), which a Lua loop that never allocates does not do, so the
** watchdog's signal would wait forever under `make tsan`.  Loops that
** never allocate are stopped in tests/unit/test_deadline.c. */
static const char hog_lua[] =
    "local hooks = require 'lplug.hooks'\n"
    "hooks.on('spin', function() while true do pcall(function()\n"
    "  while true do local t = {} end end) end end)\n";

static const char hog_yaml[] =
    "name: hog\nversion: 1.0.0\ncapabilities:\n  hooks: [spin]\n"
    "limits:\n  time: 100ms\n";

/* Fills its memory on "bomb" by doubling a string: the limit is reached
** in a few steps. */
static const char bomb_lua[] =
    "local hooks = require 'lplug.hooks'\n"
    "hooks.on('bomb', function() local s = 'x'\n"
    "  for i = 1, 64 do s = s .. s end end)\n";

static const char bomb_yaml[] =
    "name: bomb\nversion: 1.0.0\ncapabilities:\n  hooks: [bomb]\n";

#define HOST_TIME_LIMIT 5000000000LL    /* 5 s, deadline mode */

typedef struct worker {
  const char *root;        /* the shared plugin folders */
  int deadline;            /* deadline mode, else instruction mode */
  /* results, read by the main thread after joining */
  int failures;            /* checks that failed */
  char first[512];         /* what the first one was */
  int cpu_stops, memory_stops, reloads;
  int errors;              /* on_error calls */
} worker;

static void failed(worker *w, const char *fmt, ...) {
  va_list ap;
  if (w->failures++ > 0) return;
  va_start(ap, fmt);
  vsnprintf(w->first, sizeof w->first, fmt, ap);
  va_end(ap);
}

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  worker *w = ud;
  (void)plugin;
  (void)code;
  (void)message;
  (void)traceback;
  w->errors++;
}

static long long field(const lplug_value *v, const char *key) {
  size_t at;
  int ok = 0;
  long long x = lplug_value_field(v, 0, key, &at) ?
                lplug_value_integer(v, at, &ok) : 0;
  return ok ? x : -1;
}

static lplug_value *record(long long n) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  lplug_build_table(b);
  lplug_build_string(b, "n", 1);
  lplug_build_integer(b, n);
  lplug_build_end(b);
  if (lplug_builder_finish(b, v) != LPLUG_OK) {
    lplug_value_free(v);
    v = NULL;
  }
  lplug_builder_free(b);
  return v;
}

/* One thread's life: its own engine over the shared folders, ROUNDS
** records through "t", events delivered, a reload every 50 records, a
** runaway and a memory bomb stopped every 25, then the counts checked. */
static void *work(void *arg) {
  worker *w = arg;
  lplug_config config = {0};
  lplug_engine *e;
  lplug_value *v;
  long long n, sum = 0;
  int rc;
  config.memory_limit = 512 * 1024;
  config.on_error = on_error;
  config.ud = w;
  config.grant = lplug_grant_declared;
  config.failure_limit = -1;      /* the hog fails on purpose, often */
  if (w->deadline) config.time_limit = HOST_TIME_LIMIT;
  else config.instruction_limit = 200000;
  if ((e = lplug_engine_new(&config)) == NULL) {
    failed(w, "no engine");
    return NULL;
  }
  lplug_hook_define(e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(e, "q", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(e, "spin", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(e, "bomb", LPLUG_HOOK_FAIL_CLOSED, NULL);
  if ((rc = lplug_load_dir(e, w->root)) != LPLUG_OK) {
    failed(w, "load: %s", lplug_errmsg(e));
    lplug_engine_free(e);
    return NULL;
  }
  lplug_dispatch(e, 0);        /* lplug.plugin.loaded of each */
  for (n = 1; n <= ROUNDS && w->failures == 0; n++) {
    v = record(n);
    if (v == NULL) {
      failed(w, "no memory for a record");
      break;
    }
    rc = lplug_hook_run(e, "t", v);
    if (rc != LPLUG_OK) failed(w, "t %lld: %s", n, lplug_errmsg(e));
    else if (field(v, "stored") != n || field(v, "seen") != n)
      failed(w, "record %lld counted as %lld (storage) and %lld (state)", n,
             field(v, "stored"), field(v, "seen"));
    sum += n;
    lplug_value_free(v);
    if (lplug_dispatch(e, 0) != 1) failed(w, "tick %lld not delivered", n);
    if (n % 25 == 0) {
      v = lplug_value_new();
      if ((rc = lplug_hook_run(e, "spin", v)) == LPLUG_ECPU) w->cpu_stops++;
      else failed(w, "spin gave %s", lplug_errname(rc));
      if ((rc = lplug_hook_run(e, "bomb", v)) == LPLUG_EMEM) w->memory_stops++;
      else failed(w, "bomb gave %s", lplug_errname(rc));
      lplug_value_free(v);
    }
    if (n % 50 == 0) {
      if ((rc = lplug_reload(e, "counter")) == LPLUG_OK) w->reloads++;
      else failed(w, "reload: %s", lplug_errmsg(e));
      lplug_dispatch(e, 0);    /* lplug.plugin.reloaded */
    }
  }
  v = NULL;
  if (lplug_value_from_json(NULL, "{}", 2, &v) == LPLUG_OK &&
      lplug_hook_run(e, "q", v) == LPLUG_OK) {
    if (field(v, "counter") != ROUNDS || field(v, "ticks") != ROUNDS ||
        field(v, "sum") != sum)
      failed(w, "counter %lld, ticks %lld, sum %lld", field(v, "counter"),
             field(v, "ticks"), field(v, "sum"));
  } else if (w->failures == 0) {
    failed(w, "q: %s", lplug_errmsg(e));
  }
  lplug_value_free(v);
  lplug_engine_free(e);
  return NULL;
}

typedef struct shared {
  char *root;
} shared;

static int setup(void **state) {
  shared *s = calloc(1, sizeof *s);
  char *dir;
  assert_non_null(s);
  s->root = support_tmpdir();
  dir = support_plugin(s->root, "counter", counter_yaml, counter_lua);
  free(dir);
  dir = support_plugin(s->root, "listener", listener_yaml, listener_lua);
  free(dir);
  dir = support_plugin(s->root, "hog", hog_yaml, hog_lua);
  free(dir);
  dir = support_plugin(s->root, "bomb", bomb_yaml, bomb_lua);
  free(dir);
  *state = s;
  return 0;
}

static int teardown(void **state) {
  shared *s = *state;
  support_rmtree(s->root);
  free(s->root);
  free(s);
  return 0;
}

/* Runs THREADS workers at once, `deadlines` of them in deadline mode. */
static void run_workers(const char *root, int deadlines) {
  pthread_t t[THREADS];
  worker w[THREADS];
  pthread_attr_t attr;
  int i;
  unsigned long long hits0, misses0, hits1, misses1;
  chunkcache_counts(&hits0, &misses0);
  /* Plugin code runs on the caller's stack: give it the 1 MB lplug.h
  ** asks for, whatever the platform's default. */
  assert_int_equal(pthread_attr_init(&attr), 0);
  assert_int_equal(pthread_attr_setstacksize(&attr, 2u << 20), 0);
  memset(w, 0, sizeof w);
  for (i = 0; i < THREADS; i++) {
    w[i].root = root;
    w[i].deadline = i < deadlines;
    assert_int_equal(pthread_create(&t[i], &attr, work, &w[i]), 0);
  }
  pthread_attr_destroy(&attr);
  /* All joined before any assertion: a failing one leaves the test while
  ** the workers still use w and the folders. */
  for (i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  for (i = 0; i < THREADS; i++) {
    if (w[i].failures) print_error("thread %d: %s\n", i, w[i].first);
    assert_int_equal(w[i].failures, 0);
    assert_int_equal(w[i].cpu_stops, ROUNDS / 25);
    assert_int_equal(w[i].memory_stops, ROUNDS / 25);
    assert_int_equal(w[i].reloads, ROUNDS / 50);
    /* every stop was reported, nothing else was */
    assert_int_equal(w[i].errors, 2 * (ROUNDS / 25));
  }
  /* Every thread loaded the same four files, then reloaded one: the
  ** cache served most of them, whichever thread compiled first. */
  chunkcache_counts(&hits1, &misses1);
  assert_true(hits1 - hits0 >= (unsigned long long)(THREADS - 1) * 4);
}

static void threads_engines_in_instruction_mode_share_the_plugins(void **state) {
  shared *s = *state;
  run_workers(s->root, 0);
}

static void threads_engines_in_deadline_mode_stop_their_own_loops(void **state) {
  shared *s = *state;
  run_workers(s->root, THREADS);
}

static void threads_deadline_and_instruction_engines_run_together(void **state) {
  shared *s = *state;
  run_workers(s->root, THREADS / 2);
}

/* Engines created and freed on many threads while others run: the
** watchdog threads start and stop, the cache is hit and filled. */
static void *churn(void *arg) {
  worker *w = arg;
  int i, rc;
  for (i = 0; i < 10 && w->failures == 0; i++) {
    char dir[4200];
    lplug_config config = {0};
    lplug_engine *e;
    lplug_value *v;
    config.on_error = on_error;
    config.ud = w;
    config.grant = lplug_grant_declared;
    config.time_limit = HOST_TIME_LIMIT;
    if ((e = lplug_engine_new(&config)) == NULL) {
      failed(w, "no engine");
      break;
    }
    lplug_hook_define(e, "spin", LPLUG_HOOK_FAIL_CLOSED, NULL);
    snprintf(dir, sizeof dir, "%s/hog", w->root);
    if ((rc = lplug_load_plugin(e, dir)) != LPLUG_OK) {
      failed(w, "load: %s", lplug_errmsg(e));
    } else {
      v = lplug_value_new();
      if ((rc = lplug_hook_run(e, "spin", v)) == LPLUG_ECPU) w->cpu_stops++;
      else failed(w, "spin gave %s", lplug_errname(rc));
      lplug_value_free(v);
    }
    lplug_engine_free(e);
  }
  return NULL;
}

static void threads_engines_come_and_go(void **state) {
  shared *s = *state;
  pthread_t t[THREADS];
  worker w[THREADS];
  int i;
  memset(w, 0, sizeof w);
  for (i = 0; i < THREADS; i++) {
    w[i].root = s->root;
    assert_int_equal(pthread_create(&t[i], NULL, churn, &w[i]), 0);
  }
  for (i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  for (i = 0; i < THREADS; i++) {
    if (w[i].failures) print_error("thread %d: %s\n", i, w[i].first);
    assert_int_equal(w[i].failures, 0);
    assert_int_equal(w[i].cpu_stops, 10);
    assert_int_equal(w[i].errors, 10);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    T(threads_engines_in_instruction_mode_share_the_plugins),
    T(threads_engines_in_deadline_mode_stop_their_own_loops),
    T(threads_deadline_and_instruction_engines_run_together),
    T(threads_engines_come_and_go),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  /* A deadline that is not kept hangs its test: end the run instead. */
  alarm(300);
  return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
