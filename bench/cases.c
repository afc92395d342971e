/*
** cases.c -- the benchmark cases: each an engine side (public API, as an
** embedder calls it) and a raw Lua 5.4 side doing the same work, or a
** case that measures itself (memory, loading many plugins).
**
** Adding a case is one entry in bench_cases[] and, when the work is new,
** a setup/run/teardown per side.  A mode of the engine (deadline budgets,
** say) is a new entry whose setup configures the engine differently.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "bench/bench.h"
#include "sandbox/sandbox.h"

#define HOOK_CAPS "capabilities:\n  hooks: [bench]\n"

/* A fresh plugin name: every setup makes its own folder (the pid tells
** apart the processes sharing fixture_root). */
static const char *fresh_name(const char *base) {
  static char name[64];
  static int n;
  snprintf(name, sizeof name, "%s-%ld-%d", base, (long)getpid(), ++n);
  return name;
}

static void must(int rc, lplug_engine *e) {
  if (rc != LPLUG_OK) bench_die("%s: %s", lplug_errname(rc), lplug_errmsg(e));
}

/*
** {======================================================
** Hook dispatch: one engine, one handler on hook "bench"
** =======================================================
*/

typedef struct hookctx {
  lplug_engine *e;
  lplug_hook *h;
  lplug_value *v;
  lplug_builder *b;
} hookctx;

static hookctx *hook_engine(const bcase *bc, const char *lua,
                            long idle_plugins);

static lplug_value *integer_value(long long x) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  if (b == NULL || v == NULL) bench_die("out of memory");
  lplug_build_integer(b, x);
  if (lplug_builder_finish(b, v) != LPLUG_OK) bench_die("builder failed");
  lplug_builder_free(b);
  return v;
}

static void hook_teardown(void *ctx) {
  hookctx *c = ctx;
  lplug_value_free(c->v);
  lplug_builder_free(c->b);
  lplug_engine_free(c->e);
  free(c);
}

/* ---- integer argument: handler(x) return x ---------------------------- */

static const char *const IDENTITY = "function(x) return x end";

static void *int_lplug_setup(const bcase *bc) {
  char lua[256];
  hookctx *c;
  snprintf(lua, sizeof lua, "require('lplug.hooks').on('bench', %s)\n",
           IDENTITY);
  c = hook_engine(bc, lua, 0);
  c->v = integer_value(42);
  return c;
}

static void int_lplug_run(void *ctx, long n) {
  hookctx *c = ctx;
  long i;
  for (i = 0; i < n; i++) must(lplug_hook_call(c->h, c->v), c->e);
}

static void int_lplug_teardown(void *ctx) {
  hookctx *c = ctx;
  int ok;
  if (lplug_value_integer(c->v, 0, &ok) != 42 || !ok)
    bench_die("hook_int: the handler's result is not 42");
  hook_teardown(c);
}

typedef struct rawctx {
  lua_State *L;
  int ref;
  int hooked;   /* arm a count hook before each call, as the engine does */
} rawctx;

static void *raw_setup(const char *chunk) {
  rawctx *c = calloc(1, sizeof *c);
  if (c == NULL) bench_die("out of memory");
  c->L = fixture_raw_state();
  c->ref = fixture_raw_ref(c->L, chunk);
  return c;
}

static void raw_teardown(void *ctx) {
  rawctx *c = ctx;
  lua_close(c->L);
  free(c);
}

static void *int_raw_setup(const bcase *bc) {
  char chunk[256];
  (void)bc;
  snprintf(chunk, sizeof chunk, "return %s", IDENTITY);
  return raw_setup(chunk);
}

/* The floor: registry ref, push an integer, pcall, pop. */
static void int_raw_run(void *ctx, long n) {
  rawctx *c = ctx;
  lua_State *L = c->L;
  long i;
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushinteger(L, 42);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) bench_die("%s", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

/* ---- a 3-field record built in C: handler(rec) end --------------------- */

static const char LINE[] = "GET /index.html 200";

static void *rec_lplug_setup(const bcase *bc) {
  hookctx *c;
  c = hook_engine(bc, "require('lplug.hooks').on('bench', function(rec) "
                  "end)\n", 0);
  c->v = lplug_value_new();
  c->b = lplug_builder_new();
  if (c->v == NULL || c->b == NULL) bench_die("out of memory");
  return c;
}

/* The host builds the record from its C fields, then runs the hook. */
static void rec_lplug_run(void *ctx, long n) {
  hookctx *c = ctx;
  long i;
  for (i = 0; i < n; i++) {
    lplug_build_table(c->b);
    lplug_build_string(c->b, "line", 4);
    lplug_build_string(c->b, LINE, sizeof LINE - 1);
    lplug_build_string(c->b, "n", 1);
    lplug_build_integer(c->b, i);
    lplug_build_string(c->b, "ok", 2);
    lplug_build_boolean(c->b, 1);
    lplug_build_end(c->b);
    must(lplug_builder_finish(c->b, c->v), c->e);
    must(lplug_hook_call(c->h, c->v), c->e);
  }
}

static void *rec_raw_setup(const bcase *bc) {
  (void)bc;
  return raw_setup("return function(rec) end");
}

static void push_record(lua_State *L, long i) {
  lua_createtable(L, 0, 3);
  lua_pushlstring(L, LINE, sizeof LINE - 1);
  lua_setfield(L, -2, "line");
  lua_pushinteger(L, i);
  lua_setfield(L, -2, "n");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "ok");
}

static void rec_raw_run(void *ctx, long n) {
  rawctx *c = ctx;
  lua_State *L = c->L;
  long i;
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    push_record(L, i);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) bench_die("%s", lua_tostring(L, -1));
  }
}

/* ---- handlers that work: a tight loop, an allocating loop -------------- */

/* Each call runs the handler with this argument; the work dwarfs the
** dispatch so that the ratio shows what the limits cost inside Lua. */
#define WORK_N 10000
#define ALLOC_N 1000

static const char *const LOOP =
  "function(n) local s = 0 for i = 1, n do s = s + i % 7 end return s end";
static const char *const ALLOC =
  "function(n) local t = {} for i = 1, n do t[i] = { i, tostring(i) } end "
  "return #t end";

static void *work_lplug_setup(const bcase *bc, const char *fn) {
  char lua[512];
  hookctx *c;
  snprintf(lua, sizeof lua, "require('lplug.hooks').on('bench', %s)\n", fn);
  c = hook_engine(bc, lua, 0);
  c->v = lplug_value_new();
  c->b = lplug_builder_new();
  if (c->v == NULL || c->b == NULL) bench_die("out of memory");
  return c;
}

static void *loop_lplug_setup(const bcase *bc) {
  return work_lplug_setup(bc, LOOP);
}

static void *alloc_lplug_setup(const bcase *bc) {
  return work_lplug_setup(bc, ALLOC);
}

static void work_lplug_run(void *ctx, long n, long long arg) {
  hookctx *c = ctx;
  long i;
  for (i = 0; i < n; i++) {
    lplug_build_integer(c->b, arg);  /* the handler's result replaced it */
    must(lplug_builder_finish(c->b, c->v), c->e);
    must(lplug_hook_call(c->h, c->v), c->e);
  }
}

static void loop_lplug_run(void *ctx, long n) { work_lplug_run(ctx, n, WORK_N); }
static void alloc_lplug_run(void *ctx, long n) { work_lplug_run(ctx, n, ALLOC_N); }

static void *work_raw_setup(const char *fn, int hooked) {
  char chunk[512];
  rawctx *c;
  snprintf(chunk, sizeof chunk, "return %s", fn);
  c = raw_setup(chunk);
  c->hooked = hooked;
  return c;
}

static void *loop_raw_setup(const bcase *bc) {
  (void)bc;
  return work_raw_setup(LOOP, 0);
}

/* Same count hook as the engine's instruction mode (a block of
** SANDBOX_BLOCK instructions), so that the allocator is what differs. */
static void *alloc_raw_setup(const bcase *bc) {
  (void)bc;
  return work_raw_setup(ALLOC, 1);
}

static void noop_hook(lua_State *L, lua_Debug *ar) {
  (void)L; (void)ar;
}

static void work_raw_run(void *ctx, long n, long long arg) {
  rawctx *c = ctx;
  lua_State *L = c->L;
  long i;
  for (i = 0; i < n; i++) {
    if (c->hooked) lua_sethook(L, noop_hook, LUA_MASKCOUNT, SANDBOX_BLOCK);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushinteger(L, arg);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) bench_die("%s", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

static void loop_raw_run(void *ctx, long n) { work_raw_run(ctx, n, WORK_N); }
static void alloc_raw_run(void *ctx, long n) { work_raw_run(ctx, n, ALLOC_N); }

/* }====================================================== */


/*
** {======================================================
** Many plugins: N - 1 idle ones (a handler on hook "idle") and the one
** whose handler runs on hook "bench"
** =======================================================
*/

static const char *idle_dir(long i) {
  static char dir[4096];
  snprintf(dir, sizeof dir, "%s/idle-%05ld", fixture_root(), i);
  return dir;
}

/* Idle folders are shared by every case and by the load_10k children. */
static void make_idle(long n) {
  static long made;
  char name[32];
  for (; made < n; made++) {
    snprintf(name, sizeof name, "idle-%05ld", made);
    fixture_plugin(name, "capabilities:\n  hooks: [idle]\n",
                   "local hooks = require('lplug.hooks')\n"
                   "hooks.on('idle', function(x) return x end)\n");
  }
}

static hookctx *hook_engine(const bcase *bc, const char *lua,
                            long idle_plugins) {
  hookctx *c = calloc(1, sizeof *c);
  long i;
  if (c == NULL) bench_die("out of memory");
  c->e = fixture_engine(bc->configure);
  c->h = fixture_hook(c->e, "bench");
  fixture_hook(c->e, "idle");
  make_idle(idle_plugins);
  for (i = 0; i < idle_plugins; i++) fixture_load(c->e, idle_dir(i));
  fixture_load(c->e, fixture_plugin(fresh_name("handler"), HOOK_CAPS, lua));
  return c;
}

static long plugins_of(const bcase *bc) {
  return bench_quick ? bc->arg / 500 + 2 : bc->arg;
}

static void *scale_setup(const bcase *bc, long plugins) {
  char lua[256];
  hookctx *c;
  snprintf(lua, sizeof lua, "require('lplug.hooks').on('bench', %s)\n",
           IDENTITY);
  c = hook_engine(bc, lua, plugins - 1);
  c->v = integer_value(42);
  return c;
}

static void *scale_n_setup(const bcase *bc) {
  return scale_setup(bc, plugins_of(bc));
}

static void *scale_1_setup(const bcase *bc) { return scale_setup(bc, 1); }

/* Loading many plugins runs in a fresh process for each side (this
** program again, with --load-child): a fork would inherit this process's
** heap, whose free memory would hide the growth. */
static void measure_child(long plugins, int lplug, double *seconds,
                          double *megabytes) {
  char cmd[4400];
  FILE *f;
  make_idle(plugins);
  snprintf(cmd, sizeof cmd, "'%s' --load-child %ld %s", bench_self, plugins,
           lplug ? "lplug" : "baseline");
  fflush(stdout);
  if ((f = popen(cmd, "r")) == NULL ||
      fscanf(f, "%lf %lf", seconds, megabytes) != 2 || pclose(f) != 0)
    bench_die("%s failed", cmd);
}

/* --load-child: loads n plugins (or makes n plain states), prints the
** seconds taken and the growth of the resident set in MB, then frees them
** (not measured; leak checkers see a clean exit). */
int bench_load_child(long plugins, int lplug) {
  lua_State **raw = NULL;
  lplug_engine *e = NULL;
  size_t rss0;
  double t0, seconds;
  long i;
  if (!lplug && (raw = calloc((size_t)plugins + 1, sizeof *raw)) == NULL)
    bench_die("out of memory");
  rss0 = fixture_rss();
  t0 = bench_now();
  if (lplug) {
    e = fixture_engine(NULL);
    fixture_hook(e, "idle");
    for (i = 0; i < plugins; i++) fixture_load(e, idle_dir(i));
  } else {
    for (i = 0; i < plugins; i++) {
      raw[i] = fixture_raw_state();
      fixture_raw_ref(raw[i], "local f = function(x) return x end\n"
                              "return f");
    }
  }
  seconds = bench_now() - t0;
  printf("%.6f %.6f\n", seconds,
         (double)(fixture_rss() - rss0) / (1024.0 * 1024.0));
  if (e) lplug_engine_free(e);
  for (i = 0; raw && i < plugins; i++) lua_close(raw[i]);
  free(raw);
  return 0;
}

static void load_many_measure(const bcase *bc) {
  long plugins = plugins_of(bc);
  double ls, lmb, bs, bmb;
  measure_child(plugins, 1, &ls, &lmb);
  measure_child(plugins, 0, &bs, &bmb);
  bench_row(bc->name, "s", ls, bs, TARGET_ABS_MAX, 1.0, "<=1 s");
  bench_row("load_10k_mem", "MB", lmb, bmb, TARGET_ABS_MAX, 400.0,
            "<=400 MB");
}

/* }====================================================== */


/*
** {======================================================
** States and loading
** =======================================================
*/

static void sandbox_config_init(sandbox_config *sc) {
  memset(sc, 0, sizeof *sc);
  sc->name = "bench";
  sc->dir = fixture_root();
  sc->memory_limit = LPLUG_DEFAULT_MEMORY_LIMIT;
  sc->instruction_limit = LPLUG_DEFAULT_INSTRUCTION_LIMIT;
}

/* No public function makes a bare plugin state: this side calls the
** sandbox (sandbox/sandbox.h) that lplug_load_plugin calls. */
static void *state_lplug_setup(const bcase *bc) {
  (void)bc;
  return calloc(1, sizeof(sandbox));
}

static void state_lplug_run(void *ctx, long n) {
  sandbox *sb = ctx;
  sandbox_config sc;
  char err[256];
  long i;
  sandbox_config_init(&sc);
  for (i = 0; i < n; i++) {
    if (sandbox_open(sb, &sc, err, sizeof err) != 0) bench_die("%s", err);
    sandbox_close(sb);
  }
}

static void *nothing_setup(const bcase *bc) {
  (void)bc;
  return NULL;
}

/* Frees what setup allocated (free(NULL) for nothing_setup). */
static void free_teardown(void *ctx) { free(ctx); }

static void state_raw_run(void *ctx, long n) {
  long i;
  (void)ctx;
  for (i = 0; i < n; i++) lua_close(fixture_raw_state());
}

static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  size_t *used = ud;
  if (ptr == NULL) osize = 0;
  if (nsize == 0) {
    free(ptr);
    *used -= osize;
    return NULL;
  }
  ptr = realloc(ptr, nsize);
  if (ptr != NULL) *used += nsize - osize;
  return ptr;
}

/* Bytes Lua asks for, counted the same way on both sides (the limiting
** allocator's own count; malloc's overhead is not included). */
static void state_mem_measure(const bcase *bc) {
  sandbox sb;
  sandbox_config sc;
  char err[256];
  size_t raw = 0;
  lua_State *L = lua_newstate(counting_alloc, &raw);
  double lplug;
  if (L == NULL) bench_die("out of memory");
  fixture_raw_libs(L);
  sandbox_config_init(&sc);
  if (sandbox_open(&sb, &sc, err, sizeof err) != 0) bench_die("%s", err);
  lplug = (double)sb.used / 1024.0;
  sandbox_close(&sb);
  bench_row(bc->name, "KB", lplug, (double)raw / 1024.0, TARGET_ABS_MAX, 28.0,
            "<=28 KB");
  lua_close(L);
}

/* A 200-line plugin: a new engine, lplug_load_plugin, lplug_engine_free
** (there is no unload); the baseline makes a state with the same
** libraries, loads the same text from memory, runs it and closes it. */
static void *load_lplug_setup(const bcase *bc) {
  char *dir = strdup(fixture_plugin(fresh_name("cold"), "",
                                    fixture_source200()));
  (void)bc;
  if (dir == NULL) bench_die("out of memory");
  return dir;  /* free_teardown frees it */
}

static void load_lplug_run(void *ctx, long n) {
  const char *dir = ctx;
  long i;
  for (i = 0; i < n; i++) {
    lplug_engine *e = fixture_engine(NULL);
    fixture_load(e, dir);
    lplug_engine_free(e);
  }
}

static void load_raw_run(void *ctx, long n) {
  const char *text = fixture_source200();
  size_t len = strlen(text);
  long i;
  (void)ctx;
  for (i = 0; i < n; i++) {
    lua_State *L = fixture_raw_state();
    if (luaL_loadbuffer(L, text, len, "=init.lua") != LUA_OK ||
        lua_pcall(L, 0, 0, 0) != LUA_OK)
      bench_die("%s", lua_tostring(L, -1));
    lua_close(L);
  }
}

/* }====================================================== */


/*
** {======================================================
** Events: the host emits a 3-field record, one plugin subscribes
** =======================================================
*/

static void *event_lplug_setup(const bcase *bc) {
  hookctx *c = calloc(1, sizeof *c);
  if (c == NULL) bench_die("out of memory");
  c->e = fixture_engine(bc->configure);
  fixture_load(c->e, fixture_plugin(fresh_name("sub"),
               "capabilities:\n  events: { on: [bench.tick] }\n",
               "require('lplug.events').on('bench.tick', "
               "function(p, topic) end)\n"));
  lplug_dispatch(c->e, 0);  /* the lplug.plugin.loaded event */
  c->v = lplug_value_new();
  c->b = lplug_builder_new();
  if (c->v == NULL || c->b == NULL) bench_die("out of memory");
  return c;
}

static void event_lplug_run(void *ctx, long n) {
  hookctx *c = ctx;
  long i;
  for (i = 0; i < n; i++) {
    lplug_build_table(c->b);
    lplug_build_string(c->b, "line", 4);
    lplug_build_string(c->b, LINE, sizeof LINE - 1);
    lplug_build_string(c->b, "n", 1);
    lplug_build_integer(c->b, i);
    lplug_build_string(c->b, "ok", 2);
    lplug_build_boolean(c->b, 1);
    lplug_build_end(c->b);
    must(lplug_builder_finish(c->b, c->v), c->e);
    must(lplug_event_emit(c->e, "bench.tick", c->v), c->e);
    if (lplug_dispatch(c->e, 0) != 1) bench_die("event not delivered");
  }
}

static void *event_raw_setup(const bcase *bc) {
  (void)bc;
  return raw_setup("return function(p, topic) end");
}

static void event_raw_run(void *ctx, long n) {
  rawctx *c = ctx;
  lua_State *L = c->L;
  long i;
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    push_record(L, i);
    lua_pushliteral(L, "bench.tick");
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) bench_die("%s", lua_tostring(L, -1));
  }
}

/* }====================================================== */


#define SIDE(s, r, t) {s, r, t}
#define RAW(s, r) {s, r, raw_teardown}

const bcase bench_cases[] = {
  {"hook_int", "hook dispatch, one handler, integer argument, limits "
   "armed, instruction mode; baseline: raw lua_pcall of the same function",
   "ns/call", 1e9, 20000, 2000, TARGET_RATIO_MAX, 1.40, "<=1.40x", 0,
   SIDE(int_lplug_setup, int_lplug_run, int_lplug_teardown),
   RAW(int_raw_setup, int_raw_run), NULL, NULL},
  {"hook_record3", "hook dispatch with a 3-field record built in C "
   "(builder); baseline: lua_createtable + 3 lua_setfield + lua_pcall",
   "ns/call", 1e9, 20000, 2000, TARGET_RATIO_MAX, 1.20, "<=1.20x", 0,
   SIDE(rec_lplug_setup, rec_lplug_run, hook_teardown),
   RAW(rec_raw_setup, rec_raw_run), NULL, NULL},
  {"loop_insn", "tight Lua loop (10000 iterations) inside a handler, "
   "instruction mode; baseline: the same loop, raw pcall, no hook "
   "(target is for deadline mode)",
   "us/call", 1e6, 200, 2, TARGET_REFERENCE, 1.05, "1.05x (deadline)", 0,
   SIDE(loop_lplug_setup, loop_lplug_run, hook_teardown),
   RAW(loop_raw_setup, loop_raw_run), NULL, NULL},
  {"alloc_heavy", "handler making 1000 small tables and strings under the "
   "memory limit; baseline: same function, default allocator, same count "
   "hook", "us/call", 1e6, 200, 2, TARGET_RATIO_MAX, 1.06, "<=1.06x", 0,
   SIDE(alloc_lplug_setup, alloc_lplug_run, hook_teardown),
   RAW(alloc_raw_setup, alloc_raw_run), NULL, NULL},
  {"state_new", "new plugin state before plugin code (sandbox_open + "
   "close); baseline: luaL_newstate + the same libraries + lua_close",
   "us/state", 1e6, 500, 5, TARGET_RATIO_MAX, 1.20, "<=1.20x", 0,
   SIDE(state_lplug_setup, state_lplug_run, free_teardown),
   SIDE(nothing_setup, state_raw_run, free_teardown), NULL, NULL},
  {"state_mem", "bytes a new plugin state holds before plugin code; "
   "baseline: lua_newstate + the same libraries", "KB", 1, 0, 0,
   TARGET_ABS_MAX, 28, "<=28 KB", 0, {NULL, NULL, NULL},
   {NULL, NULL, NULL}, state_mem_measure, NULL},
  {"load_cold", "cold load of a 200-line plugin (engine new, "
   "lplug_load_plugin, engine free); baseline: new state + libraries + "
   "luaL_loadbuffer + run + close", "us/plugin", 1e6, 200, 3,
   TARGET_RATIO_MAX, 1.10, "<=1.10x", 0,
   SIDE(load_lplug_setup, load_lplug_run, free_teardown),
   SIDE(nothing_setup, load_raw_run, free_teardown), NULL, NULL},
  {"event_record3", "host emits a 3-field record (builder), dispatch "
   "delivers it to one plugin subscriber; baseline: the same table built "
   "in the subscriber's state + lua_pcall", "ns/event", 1e9, 20000, 2000,
   TARGET_RATIO_MAX, 2.50, "<=2.50x", 0,
   SIDE(event_lplug_setup, event_lplug_run, hook_teardown),
   RAW(event_raw_setup, event_raw_run), NULL, NULL},
  {"hook_100", "hook_int with 100 plugins loaded (one handler runs); "
   "baseline: hook_int with 1 plugin loaded", "ns/call", 1e9, 20000, 2000,
   TARGET_RATIO_MAX, 1.10, "<=1.10x", 100,
   SIDE(scale_n_setup, int_lplug_run, int_lplug_teardown),
   SIDE(scale_1_setup, int_lplug_run, int_lplug_teardown), NULL, NULL},
  {"hook_10k", "hook_int with 10,000 plugins loaded (one handler runs); "
   "baseline: hook_int with 1 plugin loaded", "ns/call", 1e9, 20000, 2000,
   TARGET_RATIO_MAX, 1.10, "<=1.10x", 10000,
   SIDE(scale_n_setup, int_lplug_run, int_lplug_teardown),
   SIDE(scale_1_setup, int_lplug_run, int_lplug_teardown), NULL, NULL},
  {"load_10k", "load 10,000 small plugins into one engine (time; then "
   "resident memory as load_10k_mem); baseline: 10,000 plain states with "
   "the same libraries running a tiny chunk", "s", 1, 0, 0,
   TARGET_ABS_MAX, 1.0, "<=1 s", 10000, {NULL, NULL, NULL},
   {NULL, NULL, NULL}, load_many_measure, NULL},
  {NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, {NULL, NULL, NULL},
   {NULL, NULL, NULL}, NULL, NULL}
};
