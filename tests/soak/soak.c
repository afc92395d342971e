/*
** soak.c -- a host that keeps an engine busy for a long time and then
** checks that nothing drifted: `make soak` (SOAK_SECONDS, 60 by default)
** and a short run in `make test` (tests/integration/soak.sh).
**
** Dozens of plugins handle every record of a fail-open hook point: each
** counts it in storage and in its Lua state and emits an event, which a
** listener plugin and the host both count.  The host picks records at
** random (fixed seed) on which one plugin raises an error, loops forever
** (instruction limit) or fills its memory (memory limit), and reloads a
** plugin every RELOAD_EVERY records (save/restore carry the state over).
** A failed call keeps neither its storage writes nor its events, so the
** host knows what every count must be.
**
** Afterwards: every count adds up (each record counted exactly once by
** each plugin, except where it was made to fail; every failure reported
** once with its code; every event delivered once), no plugin was
** disabled, the storage file reads back the same from a new engine, and
** the resident set grew by at most RSS_GROWTH_MAX between the end of the
** warm-up and the end.  Prints records/s, plugin calls/s (handlers and
** event deliveries) and the RSS.
**
**   soak [--seconds N | --records N] [--plugins N]
** Uses only lplug.h.
*/
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lplug.h"

#define MAX_PLUGINS 64
#define RELOAD_EVERY 97
#define FAIL_ONE_IN 5               /* records on which one plugin fails */
#define WARMUP_RECORDS 2000
#define RSS_GROWTH_MAX (8u << 20)   /* bytes, after the warm-up */

#ifdef __SANITIZE_ADDRESS__
/* Under ASan, freed blocks wait in a quarantine (256 MB by default) that
** counts in the RSS: a run that frees many small blocks (SQLite's
** per-statement records) would see it fill after the warm-up and fail
** the bound without any leak.  A smaller quarantine fills during the
** warm-up and still catches a use of a block freed recently. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=64"; }
#endif

enum { FAIL_ERROR, FAIL_CPU, FAIL_MEMORY, FAIL_KINDS };
static const char *const kind_names[] = {"error", "cpu", "memory"};
static const int kind_codes[] = {LPLUG_ERUNTIME, LPLUG_ECPU, LPLUG_EMEM};

static const char counter_lua[] =
    "local hooks = require 'lplug.hooks'\n"
    "local storage = require 'lplug.storage'\n"
    "local events = require 'lplug.events'\n"
    "local NAME = '%s'\n"
    "local seen = 0\n"
    "hooks.on('record', function(rec)\n"
    "  storage.incr('seen')                  -- undone if the call fails\n"
    "  events.emit('soak.' .. NAME, { n = rec.n })   -- dropped likewise\n"
    "  if rec.fail == NAME then\n"
    "    if rec.kind == 'error' then error('asked to fail on ' .. rec.n)\n"
    "    elseif rec.kind == 'cpu' then while true do end\n"
    "    else local s = 'x' for i = 1, 64 do s = s .. s end end\n"
    "  end\n"
    "  seen = seen + 1                       -- Lua state is not undone\n"
    "  rec.count = (rec.count or 0) + 1\n"
    "  return rec\n"
    "end)\n"
    "hooks.on('report', function(r)\n"
    "  r[NAME] = { stored = storage.get('seen') or 0, seen = seen }\n"
    "  return r\n"
    "end)\n"
    "return { save = function() return seen end,\n"
    "         restore = function(s) seen = s end }\n";

static const char counter_yaml[] =
    "name: %s\nversion: 1.0.0\ncapabilities:\n  hooks: [record, report]\n"
    "  storage: {}\n  events: { emit: ['soak.*'] }\n";

static const char listener_lua[] =
    "local hooks = require 'lplug.hooks'\n"
    "local storage = require 'lplug.storage'\n"
    "local events = require 'lplug.events'\n"
    "events.on('soak.*', function(p) storage.incr('events') end)\n"
    "hooks.on('report', function(r)\n"
    "  r.listener = { stored = storage.get('events') or 0 }\n"
    "  return r\n"
    "end)\n";

static const char listener_yaml[] =
    "name: listener\nversion: 1.0.0\ncapabilities:\n  hooks: [report]\n"
    "  storage: {}\n  events: { on: ['soak.*'] }\n";

typedef struct counts {
  long long failures[FAIL_KINDS];   /* made to fail, by kind */
  long long reported[FAIL_KINDS];   /* on_error calls, by kind */
  long long other_errors;           /* on_error with another code */
  long long events;                 /* its events the host received */
} counts;

static struct {
  int nplugins;
  char names[MAX_PLUGINS][16];
  counts c[MAX_PLUGINS];
  long long listener_errors;
  int problems;
} soak;

static void problem(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "soak: FAIL: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  soak.problems++;
}

static int plugin_index(const char *name) {
  int i;
  if (name == NULL || name[0] != 'c') return -1;
  i = atoi(name + 1);
  return i >= 0 && i < soak.nplugins && strcmp(soak.names[i], name) == 0 ?
         i : -1;
}

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  int i = plugin_index(plugin), k;
  (void)ud;
  (void)traceback;
  if (i < 0) {
    soak.listener_errors++;
    fprintf(stderr, "soak: %s: %s\n", plugin ? plugin : "?", message);
    return;
  }
  for (k = 0; k < FAIL_KINDS; k++)
    if (code == kind_codes[k]) {
      soak.c[i].reported[k]++;
      return;
    }
  soak.c[i].other_errors++;
  fprintf(stderr, "soak: %s: %s\n", plugin, message);
}

static void on_event(void *ud, const char *topic, const lplug_value *payload,
                     const char *source) {
  int i = plugin_index(source);
  (void)ud;
  (void)payload;
  if (i >= 0 && strcmp(topic + 5, source) == 0) soak.c[i].events++;
  else problem("event %s from %s", topic, source ? source : "the host");
}

/* Paths: root (mkdtemp, < 1024) / plugins / name / file. */
static void write_file(const char *dir, const char *name, const char *text) {
  char path[1400];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if ((f = fopen(path, "wb")) == NULL || fputs(text, f) < 0 || fclose(f)) {
    fprintf(stderr, "soak: cannot write %s\n", path);
    exit(2);
  }
}

static void make_plugin(const char *root, const char *name, const char *yaml,
                        const char *lua) {
  char dir[1300];
  snprintf(dir, sizeof dir, "%s/%s", root, name);
  mkdir(dir, 0755);
  write_file(dir, "plugin.yaml", yaml);
  write_file(dir, "init.lua", lua);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static size_t rss_bytes(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return 0;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  fclose(f);
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static lplug_engine *engine(const char *db) {
  lplug_config config = {0};
  lplug_engine *e;
  config.memory_limit = 256 * 1024;
  config.instruction_limit = 100000;
  config.on_error = on_error;
  config.grant = lplug_grant_declared;
  config.storage_path = db;
  config.storage_batch_ms = 100;
  if ((e = lplug_engine_new(&config)) == NULL ||
      lplug_hook_define(e, "record", 0, NULL) != LPLUG_OK ||
      lplug_hook_define(e, "report", LPLUG_HOOK_FAIL_CLOSED, NULL) !=
          LPLUG_OK) {
    fprintf(stderr, "soak: no engine\n");
    exit(2);
  }
  return e;
}

/* The record {line, n} with, when a plugin is to fail on it, fail = its
** name and kind = how. */
static lplug_value *record(lplug_builder *b, long long n, int target,
                           int kind) {
  static const char line[] = "2026-11-24T08:00:11Z INFO soak: a record";
  lplug_value *v = lplug_value_new();
  lplug_build_table(b);
  lplug_build_string(b, "line", 4);
  lplug_build_string(b, line, sizeof line - 1);
  lplug_build_string(b, "n", 1);
  lplug_build_integer(b, n);
  if (target >= 0) {
    lplug_build_string(b, "fail", 4);
    lplug_build_string(b, soak.names[target], strlen(soak.names[target]));
    lplug_build_string(b, "kind", 4);
    lplug_build_string(b, kind_names[kind], strlen(kind_names[kind]));
  }
  lplug_build_end(b);
  if (v == NULL || lplug_builder_finish(b, v) != LPLUG_OK) {
    fprintf(stderr, "soak: out of memory\n");
    exit(2);
  }
  return v;
}

static long long report_field(const lplug_value *r, const char *plugin,
                              const char *key) {
  size_t at, in;
  int ok = 0;
  long long x;
  if (!lplug_value_field(r, 0, plugin, &at) ||
      !lplug_value_field(r, at, key, &in))
    return -1;
  x = lplug_value_integer(r, in, &ok);
  return ok ? x : -1;
}

/* Runs "report" and checks every plugin's counts against `records`. */
static void check_counts(lplug_engine *e, long long records, int state_too,
                         const char *when) {
  lplug_value *r = NULL;
  long long successes = 0;
  int i, k;
  if (lplug_value_from_json(NULL, "{}", 2, &r) != LPLUG_OK ||
      lplug_hook_run(e, "report", r) != LPLUG_OK) {
    problem("%s: report failed: %s", when, lplug_errmsg(e));
    lplug_value_free(r);
    return;
  }
  for (i = 0; i < soak.nplugins; i++) {
    const char *name = soak.names[i];
    long long want = records, stored = report_field(r, name, "stored");
    for (k = 0; k < FAIL_KINDS; k++) want -= soak.c[i].failures[k];
    successes += want;
    if (stored != want)
      problem("%s: %s stored %lld records, want %lld", when, name, stored,
              want);
    if (state_too) {
      long long seen = report_field(r, name, "seen");
      if (seen != want)
        problem("%s: %s's state saw %lld records, want %lld", when, name,
                seen, want);
      if (soak.c[i].events != want)
        problem("%s: host got %lld events of %s, want %lld", when,
                soak.c[i].events, name, want);
      for (k = 0; k < FAIL_KINDS; k++)
        if (soak.c[i].reported[k] != soak.c[i].failures[k])
          problem("%s: %s reported %lld %s failures, made %lld", when, name,
                  soak.c[i].reported[k], kind_names[k],
                  soak.c[i].failures[k]);
      if (soak.c[i].other_errors)
        problem("%s: %s had %lld unexpected errors", when, name,
                soak.c[i].other_errors);
      if (lplug_plugin_state(e, name) != LPLUG_STATE_ACTIVE)
        problem("%s: %s is %s", when, name,
                lplug_state_name(lplug_plugin_state(e, name)));
    }
  }
  if (report_field(r, "listener", "stored") != successes)
    problem("%s: listener stored %lld events, want %lld", when,
            report_field(r, "listener", "stored"), successes);
  lplug_value_free(r);
}

static void usage(void) {
  fprintf(stderr, "usage: soak [--seconds N | --records N] [--plugins N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  double seconds = 0, t0, t1, elapsed;
  long long max_records = 0, n = 0, deliveries = 0;
  int i, reloads = 0;
  unsigned seed = 12345;
  char root[1024], db[1100], dir[1100];
  const char *base = getenv("TMPDIR");
  size_t rss_start = 0, rss_end;
  lplug_engine *e;
  lplug_builder *b;
  soak.nplugins = 30;
  for (i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--records") == 0) max_records = atoll(argv[++i]);
    else if (strcmp(argv[i], "--plugins") == 0) soak.nplugins = atoi(argv[++i]);
    else usage();
  }
  if (soak.nplugins < 1 || soak.nplugins > MAX_PLUGINS) usage();
  if (seconds <= 0 && max_records <= 0) max_records = 5000;

  snprintf(root, sizeof root, "%s/lplug-soak-XXXXXX", base ? base : "/tmp");
  if (mkdtemp(root) == NULL) {
    perror("soak: mkdtemp");
    return 2;
  }
  snprintf(dir, sizeof dir, "%s/plugins", root);
  mkdir(dir, 0755);
  snprintf(db, sizeof db, "%s/soak.db", root);
  for (i = 0; i < soak.nplugins; i++) {
    char yaml[512], lua[sizeof counter_lua + 16];
    snprintf(soak.names[i], sizeof soak.names[i], "c%02d", i);
    snprintf(yaml, sizeof yaml, counter_yaml, soak.names[i]);
    snprintf(lua, sizeof lua, counter_lua, soak.names[i]);
    make_plugin(dir, soak.names[i], yaml, lua);
  }
  make_plugin(dir, "listener", listener_yaml, listener_lua);

  e = engine(db);
  if (lplug_load_dir(e, dir) != LPLUG_OK) {
    fprintf(stderr, "soak: load: %s\n", lplug_errmsg(e));
    return 1;
  }
  lplug_event_subscribe(e, "soak.*", on_event, NULL);
  lplug_dispatch(e, 0);                 /* lplug.plugin.loaded */
  b = lplug_builder_new();
  t0 = t1 = now();
  for (n = 1; max_records ? n <= max_records : now() - t0 < seconds; n++) {
    int target = -1, kind = 0;
    lplug_value *v;
    if (rand_r(&seed) % FAIL_ONE_IN == 0) {
      target = (int)(rand_r(&seed) % (unsigned)soak.nplugins);
      kind = (int)(rand_r(&seed) % FAIL_KINDS);
      soak.c[target].failures[kind]++;
    }
    v = record(b, n, target, kind);
    if (lplug_hook_run(e, "record", v) != LPLUG_OK)
      problem("record %lld: %s", n, lplug_errmsg(e));
    lplug_value_free(v);
    deliveries += lplug_dispatch(e, 0);
    if (n % RELOAD_EVERY == 0) {
      const char *name = soak.names[(n / RELOAD_EVERY) % soak.nplugins];
      if (lplug_reload(e, name) != LPLUG_OK)
        problem("reload %s: %s", name, lplug_errmsg(e));
      reloads++;
      lplug_dispatch(e, 0);             /* lplug.plugin.reloaded */
    }
    if (n == WARMUP_RECORDS) {
      rss_start = rss_bytes();
      t1 = now();
    }
  }
  n--;
  elapsed = now() - t0;
  rss_end = rss_bytes();
  lplug_builder_free(b);
  check_counts(e, n, 1, "running engine");
  lplug_engine_free(e);                 /* commits the last batch */

  /* The file alone must hold the same counts. */
  e = engine(db);
  if (lplug_load_dir(e, dir) != LPLUG_OK) {
    problem("reload from the file: %s", lplug_errmsg(e));
  } else {
    check_counts(e, n, 0, "new engine on the file");
  }
  lplug_engine_free(e);

  {
    long long calls = n * soak.nplugins + deliveries, fails = 0;
    int k;
    for (i = 0; i < soak.nplugins; i++)
      for (k = 0; k < FAIL_KINDS; k++) fails += soak.c[i].failures[k];
    printf("soak: %lld records through %d plugins in %.1f s: %.0f records/s,"
           " %.0f plugin calls/s (handlers and %lld event deliveries)\n", n,
           soak.nplugins, elapsed, n / elapsed, calls / elapsed, deliveries);
    printf("soak: %lld failures made and reported (error, cpu, memory), "
           "%d reloads\n", fails, reloads);
    if (n >= WARMUP_RECORDS) {
      printf("soak: RSS %.1f MB after %d records, %.1f MB at the end "
             "(%+.1f MB in %.1f s; at most %+.1f MB allowed)\n",
             rss_start / 1048576.0, WARMUP_RECORDS, rss_end / 1048576.0,
             ((double)rss_end - (double)rss_start) / 1048576.0,
             now() - t1, RSS_GROWTH_MAX / 1048576.0);
      if (rss_end > rss_start + RSS_GROWTH_MAX)
        problem("RSS grew by more than %u MB", RSS_GROWTH_MAX >> 20);
    }
  }
  if (soak.listener_errors)
    problem("%lld errors outside the counting plugins", soak.listener_errors);

  nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (soak.problems) {
    printf("soak: %d problems\n", soak.problems);
    return 1;
  }
  printf("soak: ok\n");
  return 0;
}
