/*
** bench.h -- the benchmark program: cases, the sides they compare, and
** the helpers they share.
**
** Every case is a pair measured in the same run: the engine (through
** include/lplug.h, so the figures are what embedders get) and the raw Lua
** 5.4 baseline doing the same work.  bench.c times the pairs (or runs one
** side a fixed number of times under callgrind), cases.c defines them,
** fixture.c makes plugin folders, engines and plain Lua states.
*/
#ifndef LPLUG_BENCH_H
#define LPLUG_BENCH_H

#include <stddef.h>
#include <lua.h>

#include "lplug.h"

/* How a row's target is judged. */
enum target_kind {
  TARGET_RATIO_MAX,   /* lplug / baseline <= target */
  TARGET_RATIO_MIN,   /* throughput: lplug / baseline >= target; timed
                         figures are iterations per second (per_second
                         scales them), Ir figures stay Ir per iteration
                         and their ratio is baseline / lplug */
  TARGET_ABS_MAX,     /* the lplug figure itself <= target (in `unit`) */
  TARGET_REFERENCE,   /* the target belongs to another mode or row:
                         shown, not met */
  TARGET_REFERENCE_MIN  /* the same for a throughput (figures as
                           TARGET_RATIO_MIN's) */
};

typedef struct bcase bcase;

/* One side of a pair: setup makes what the iterations need (not timed),
** run does n iterations (timed), teardown frees it. */
typedef struct side {
  void *(*setup)(const bcase *c);
  void (*run)(void *ctx, long n);
  void (*teardown)(void *ctx);
} side;

struct bcase {
  const char *name;       /* --case NAME, first column */
  const char *title;      /* what it measures, for the doc and --list */
  const char *unit;       /* of the timed figures ("ns/call") */
  double per_second;      /* seconds per iteration -> unit (1e9 for ns) */
  long iterations;        /* per timed round */
  long ir_iterations;     /* N1 under callgrind (N2 is 3 * N1): enough
                             calls that garbage collection averages out */
  int kind;               /* enum target_kind */
  double target;
  const char *target_text;
  long arg;               /* case parameter (plugin count, ...) */
  side lplug, baseline;
  /* Cases that are not a timed pair (memory, whole loads) measure
  ** themselves and report rows with bench_row; NULL for timed pairs. */
  void (*measure)(const bcase *c);
  /* Changes the engine's settings before the engine side's engine is
  ** made (a budget mode, say); NULL for the defaults. */
  void (*configure)(lplug_config *config);
};

extern const bcase bench_cases[];

/* argv[0], to run this program again (callgrind, --load-child). */
extern const char *bench_self;

/* --load-child N set|each|baseline (cases.c). */
int bench_load_child(long plugins, const char *side);

/* Set by --quick: smoke-test sizes (few iterations, few plugins). */
extern int bench_quick;

/* Set by --case: the iterations that side will run (0 otherwise), for
** setups that must prepare something per iteration. */
extern long bench_planned;

/* Reports a row of the table (bench.c prints it and writes the TSV). */
void bench_row(const char *name, const char *unit, double lplug,
               double baseline, int kind, double target,
               const char *target_text);

/* Monotonic seconds. */
double bench_now(void);

/* ---- fixture.c ----------------------------------------------------------- */

/* Prints "bench: message" and exits 1: a broken benchmark must not print
** figures of something else (an error path, an empty loop). */
void bench_die(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 1, 2), noreturn))
#endif
  ;

/* The folder all plugin folders of this run go in (made on first use,
** removed at exit). */
const char *fixture_root(void);

/* Writes folder <root>/<name> with a plugin.yaml (name -- name's last
** part --, version and the YAML lines `caps` under it, may be "") and
** init.lua holding `lua` (<root>/<name>'s parent must exist);
** returns the folder (static buffer, valid until the next call). */
const char *fixture_plugin(const char *name, const char *caps,
                           const char *lua);

/* An engine with default limits (changed by `configure` if not NULL) that
** grants what manifests declare and dies on any plugin failure (so no
** figure ever measures an error). */
lplug_engine *fixture_engine(void (*configure)(lplug_config *config));

/* Defines fail-closed hook `name` on e and returns it. */
lplug_hook *fixture_hook(lplug_engine *e, const char *name);

/* Loads the plugin in `dir` into e or dies. */
void fixture_load(lplug_engine *e, const char *dir);

/* A plain state (luaL_newstate: the default allocator) with the libraries
** a plugin state gets: base, string, table, math, utf8, coroutine, os. */
lua_State *fixture_raw_state(void);
void fixture_raw_libs(lua_State *L);

/* Runs chunk `lua` in L and returns a registry reference to the value it
** returns (dies on error). */
int fixture_raw_ref(lua_State *L, const char *lua);

/* The resident set size of this process, in bytes. */
size_t fixture_rss(void);

/* A 200-line plugin body of plain Lua (no lplug module: the baseline runs
** the very same text). */
const char *fixture_source200(void);

#endif
