/*
** cases.c -- the benchmark cases: each an engine side (public API, as an
** embedder calls it) and a raw Lua 5.4 side doing the same work, or a
** case that measures itself (memory, loading many plugins).
**
** Adding a case is one entry in bench_cases[] and, when the work is new,
** a setup/run/teardown per side.  A mode of the engine (deadline budgets,
** say) is a new entry whose setup configures the engine differently.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <lauxlib.h>
#include <sqlite3.h>
#include <yaml.h>

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

/* Deadline mode: a time limit and no instruction limit, so that no count
** hook runs while a call is on time.  1 s: no measured call comes near
** it (deadline_stop measures the stop itself). */
static void deadline_mode(lplug_config *c) {
  c->instruction_limit = 0;
  c->time_limit = 1000000000LL;
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

static void noop_hook(lua_State *L, lua_Debug *ar) {
  (void)L; (void)ar;
}

/* The floors: no engine code, only what liblua charges for the parts of a
** dispatch no sandbox can leave out.  The int_raw_run call, plus reading
** the handler's integer back (a hook's result goes to the host), plus,
** for a per-call instruction budget, the count hook armed before the call
** (lua_sethook restarts the count: the public API has no other way). */
static void *floor_result_setup(const bcase *bc) {
  return int_raw_setup(bc);
}

static void *floor_budget_setup(const bcase *bc) {
  rawctx *c = int_raw_setup(bc);
  c->hooked = 1;
  return c;
}

/* work_raw_run's loop plus the result read, kept apart so that neither
** floor pays a branch the other row does not need. */
static void floor_run(void *ctx, long n) {
  rawctx *c = ctx;
  lua_State *L = c->L;
  long i;
  for (i = 0; i < n; i++) {
    if (c->hooked) lua_sethook(L, noop_hook, LUA_MASKCOUNT, SANDBOX_BLOCK);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushinteger(L, 42);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) bench_die("%s", lua_tostring(L, -1));
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != 42)
      bench_die("floor: the function's result is not the integer 42");
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

/* The floor of a record dispatch: no engine code, only rec_raw_run's
** work plus what no sandbox can leave out.  The count hook armed before
** the call and the result read back, as in floor_insn; and the table
** built inside the protected call, by a C function that then calls the
** handler: building allocates in a state that may be at its memory
** limit, and a memory error outside a protected call ends the process
** (Lua's panic).  No host-side copy of the record at all: the table is
** built from C variables, as the baseline builds it. */
static int floor_record_call(lua_State *L) {
  long i = (long)lua_tointeger(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, (int)lua_tointeger(L, 2));
  push_record(L, i);
  lua_call(L, 1, 1);
  return 1;
}

static void floor_record_run(void *ctx, long n) {
  rawctx *c = ctx;
  lua_State *L = c->L;
  long i;
  for (i = 0; i < n; i++) {
    lua_sethook(L, noop_hook, LUA_MASKCOUNT, SANDBOX_BLOCK);
    lua_pushcfunction(L, floor_record_call);
    lua_pushinteger(L, i);
    lua_pushinteger(L, c->ref);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) bench_die("%s", lua_tostring(L, -1));
    if (lua_type(L, -1) != LUA_TNIL)
      bench_die("floor_record3: the handler returned a value");
    lua_pop(L, 1);
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

#define IDLE_LUA                           \
  "local hooks = require('lplug.hooks')\n" \
  "hooks.on('idle', function(x) return x end)\n"

static const char *idle_dir(long i) {
  static char dir[4096];
  snprintf(dir, sizeof dir, "%s/idle-%05ld", fixture_root(), i);
  return dir;
}

/* Writes idle plugins idle-<from> to idle-<n - 1> in folder <root>/<sub>
** (which must exist; "" for the root). */
static void write_idle(const char *sub, long from, long n) {
  char name[64];
  for (; from < n; from++) {
    snprintf(name, sizeof name, "%s%sidle-%05ld", sub, *sub ? "/" : "", from);
    fixture_plugin(name, "capabilities:\n  hooks: [idle]\n", IDLE_LUA);
  }
}

/* The idle folders in the root are shared by every case. */
static void make_idle(long n) {
  static long made;
  if (n > made) {
    write_idle("", made, n);
    made = n;
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

/* load_10k's children load n idle plugins from a folder of their own,
** <root>/many-<n>, made once and shared by the children. */
static const char *many_dir(long n) {
  static char dir[4096];
  snprintf(dir, sizeof dir, "%s/many-%ld", fixture_root(), n);
  return dir;
}

static void make_many(long n) {
  static long made;
  char sub[32];
  if (made == n) return;
  made = n;
  if (mkdir(many_dir(n), 0755) != 0 && errno != EEXIST)
    bench_die("cannot make folder %s", many_dir(n));
  snprintf(sub, sizeof sub, "many-%ld", n);
  write_idle(sub, 0, n);
}

/* open, fstat, read, close: the file's bytes (malloc'd, of its size). */
static char *read_file(const char *path, size_t *len) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t got;
  char *text;
  if (fd < 0 || fstat(fd, &st) != 0) bench_die("%s: %s", path,
                                                 strerror(errno));
  if ((text = malloc((size_t)st.st_size + 1)) == NULL)
    bench_die("out of memory");
  got = read(fd, text, (size_t)st.st_size + 1);
  close(fd);
  if (got != (ssize_t)st.st_size) bench_die("%s: short read", path);
  *len = (size_t)got;
  return text;
}

/* The floor of loading many plugins (child "floor"): no engine code,
** only what loading a folder of plugins must do.  List the folder; for
** each plugin read its manifest and parse it with libyaml (events only,
** no checks), read its main file, make a state with the same libraries
** and run the file, its require('lplug.hooks').on keeping the handler
** in the registry.  The states are kept, as the engine keeps its
** plugins. */
static int floor_on(lua_State *L) {
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int floor_require(lua_State *L) {
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, floor_on);
  lua_setfield(L, -2, "on");
  return 1;
}

static void floor_parse_yaml(const char *text, size_t len) {
  yaml_parser_t parser;
  yaml_event_t event;
  int done = 0;
  if (!yaml_parser_initialize(&parser)) bench_die("out of memory");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  while (!done) {
    if (!yaml_parser_parse(&parser, &event))
      bench_die("floor: a manifest does not parse");
    done = event.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&event);
  }
  yaml_parser_delete(&parser);
}

static lua_State *floor_load(const char *folder, const char *name) {
  char path[4400];
  size_t len;
  char *text;
  lua_State *L;
  snprintf(path, sizeof path, "%s/%s/plugin.yaml", folder, name);
  text = read_file(path, &len);
  floor_parse_yaml(text, len);
  free(text);
  snprintf(path, sizeof path, "%s/%s/init.lua", folder, name);
  text = read_file(path, &len);
  L = fixture_raw_state();
  lua_pushcfunction(L, floor_require);
  lua_setglobal(L, "require");
  if (luaL_loadbuffer(L, text, len, "@init.lua") != LUA_OK ||
      lua_pcall(L, 0, 0, 0) != LUA_OK)
    bench_die("floor: %s", lua_tostring(L, -1));
  free(text);
  return L;
}

/* Loads the plugins of `folder` into raw[] (room for n); returns how
** many there were. */
static long floor_load_all(const char *folder, lua_State **raw, long n) {
  DIR *d = opendir(folder);
  struct dirent *de;
  long got = 0;
  if (d == NULL) bench_die("cannot read %s", folder);
  while ((de = readdir(d)) != NULL && got < n)
    if (de->d_name[0] != '.') raw[got++] = floor_load(folder, de->d_name);
  closedir(d);
  return got;
}

/* Loading many plugins runs in a fresh process for each side (this
** program again, with --load-child): a fork would inherit this process's
** heap, whose free memory would hide the growth. */
static void measure_child(long plugins, const char *mode, double *seconds,
                          double *megabytes) {
  char cmd[4400];
  FILE *f;
  make_many(plugins);
  snprintf(cmd, sizeof cmd, "'%s' --load-child %ld %s", bench_self, plugins,
           mode);
  fflush(stdout);
  if ((f = popen(cmd, "r")) == NULL ||
      fscanf(f, "%lf %lf", seconds, megabytes) != 2 || pclose(f) != 0)
    bench_die("%s failed", cmd);
}

/* --load-child: loads n plugins (side "set": one lplug_load_dir of the
** folder holding them; "each": lplug_load_plugin of each folder; "floor":
** floor_load_all) or makes n plain states ("baseline"), prints the
** seconds taken and the growth of
** the resident set in MB, then frees them (not measured; leak checkers
** see a clean exit). */
int bench_load_child(long plugins, const char *mode) {
  lua_State **raw = NULL;
  lplug_engine *e = NULL;
  size_t rss0;
  double t0, seconds;
  long i;
  int set = strcmp(mode, "set") == 0, each = strcmp(mode, "each") == 0;
  int floor = strcmp(mode, "floor") == 0;
  if (!set && !each && !floor && strcmp(mode, "baseline") != 0)
    bench_die("--load-child: '%s' is not set, each, floor or baseline",
              mode);
  if (!set && !each && (raw = calloc((size_t)plugins + 1, sizeof *raw)) == NULL)
    bench_die("out of memory");
  rss0 = fixture_rss();
  t0 = bench_now();
  if (set || each) {
    e = fixture_engine(NULL);
    fixture_hook(e, "idle");
    if (set && lplug_load_dir(e, many_dir(plugins)) != LPLUG_OK)
      bench_die("%s", lplug_errmsg(e));
    for (i = 0; each && i < plugins; i++) {
      char dir[4200];
      snprintf(dir, sizeof dir, "%s/idle-%05ld", many_dir(plugins), i);
      fixture_load(e, dir);
    }
  } else if (floor) {
    if (floor_load_all(many_dir(plugins), raw, plugins) != plugins)
      bench_die("--load-child: fewer than %ld plugins in %s", plugins,
                many_dir(plugins));
  } else {
    for (i = 0; i < plugins; i++) {
      raw[i] = fixture_raw_state();
      fixture_raw_ref(raw[i], "local f = function(x) return x end\n"
                              "return f");
    }
  }
  seconds = bench_now() - t0;
  if (e && lplug_plugin_count(e) != plugins)
    bench_die("--load-child: %d plugins loaded, not %ld",
              lplug_plugin_count(e), plugins);
  printf("%.6f %.6f\n", seconds,
         (double)(fixture_rss() - rss0) / (1024.0 * 1024.0));
  if (e) lplug_engine_free(e);
  for (i = 0; raw && i < plugins; i++) lua_close(raw[i]);
  free(raw);
  return 0;
}

/* Rounds of the three children, alternating: the fastest time of each
** counts, as in the timed pairs (noise only ever adds time); memory is the
** largest growth seen. */
#define LOAD_MANY_ROUNDS 3

static void load_many_measure(const bcase *bc) {
  static const char *const modes[4] = {"set", "each", "baseline", "floor"};
  long plugins = plugins_of(bc);
  double s[4] = {0, 0, 0, 0}, mb[4] = {0, 0, 0, 0};
  int round, m;
  for (round = 0; round < LOAD_MANY_ROUNDS; round++)
    for (m = 0; m < 4; m++) {
      double rs, rmb;
      measure_child(plugins, modes[m], &rs, &rmb);
      if (round == 0 || rs < s[m]) s[m] = rs;
      if (rmb > mb[m]) mb[m] = rmb;
    }
  bench_row(bc->name, "s", s[0], s[2], TARGET_ABS_MAX, 1.0, "<=1 s");
  bench_row("load_10k_each", "s", s[1], s[2], TARGET_REFERENCE, 1.0,
            "(one by one)");
  bench_row("floor_10k", "s", s[3], s[2], TARGET_REFERENCE, 1.0,
            "1 s (floor)");
  bench_row("load_10k_mem", "MB", mb[0], mb[2], TARGET_ABS_MAX, 400.0,
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
** libraries, loads the same text from memory, runs it and closes it.
**
** The bytecode cache (sandbox/chunkcache.c) keeps every plugin file this
** process compiled, keyed on the chunk name ("@name/init.lua") and the
** text: loading the same folder again is a cached load.  A cold load
** therefore takes a folder whose plugin name was never loaded: a pool of
** folders of the same text under distinct names, made before timing and
** each loaded once (the run checks that every load missed the cache). */
static char **cold_pool;
static long cold_made, cold_next;

static void *cold_setup(const bcase *bc) {
  long want = bench_planned ? bench_planned : bench_quick ? 64 : 6000;
  char name[32];
  (void)bc;
  want += cold_next;
  if (want > cold_made) {
    char **pool = realloc(cold_pool, (size_t)want * sizeof *pool);
    if (pool == NULL) bench_die("out of memory");
    cold_pool = pool;
    for (; cold_made < want; cold_made++) {
      snprintf(name, sizeof name, "cold-%06ld", cold_made);
      cold_pool[cold_made] = strdup(fixture_plugin(name, "",
                                                   fixture_source200()));
      if (cold_pool[cold_made] == NULL) bench_die("out of memory");
    }
  }
  return NULL;
}

static void cold_teardown(void *ctx) { (void)ctx; }

static void load_one(const char *dir) {
  lplug_engine *e = fixture_engine(NULL);
  fixture_load(e, dir);
  lplug_engine_free(e);
}

static void load_lplug_run(void *ctx, long n) {
  unsigned long long h0, m0, h1, m1;
  long i;
  (void)ctx;
  if (cold_next + n > cold_made)
    bench_die("load_cold: %ld folders made, %ld loads asked", cold_made,
              cold_next + n);
  chunkcache_counts(&h0, &m0);
  for (i = 0; i < n; i++) load_one(cold_pool[cold_next++]);
  chunkcache_counts(&h1, &m1);
  if (h1 != h0 || m1 - m0 < (unsigned long long)n)
    bench_die("load_cold: a load was served from the bytecode cache");
}

/* The same folder every time: the first two loads (in setup) fill the
** cache (a chunk is kept when compiled a second time), every load
** measured is served from it. */
static void *cached_setup(const bcase *bc) {
  char *dir = strdup(fixture_plugin(fresh_name("cached"), "",
                                    fixture_source200()));
  (void)bc;
  if (dir == NULL) bench_die("out of memory");
  load_one(dir);
  load_one(dir);
  return dir;  /* free_teardown frees it */
}

static void cached_run(void *ctx, long n) {
  unsigned long long h0, m0, h1, m1;
  long i;
  chunkcache_counts(&h0, &m0);
  for (i = 0; i < n; i++) load_one(ctx);
  chunkcache_counts(&h1, &m1);
  if (m1 != m0 || h1 - h0 < (unsigned long long)n)
    bench_die("load_cached: a load missed the bytecode cache");
}

/* lplug_reload of the loaded 200-line plugin, and a dispatch of the
** lplug.plugin.reloaded event it publishes (else the queue fills). */
typedef struct reloadctx {
  lplug_engine *e;
  char name[64];
} reloadctx;

static void *reload_setup(const bcase *bc) {
  reloadctx *c = calloc(1, sizeof *c);
  if (c == NULL) bench_die("out of memory");
  snprintf(c->name, sizeof c->name, "%s", fresh_name("reload"));
  c->e = fixture_engine(bc->configure);
  fixture_load(c->e, fixture_plugin(c->name, "", fixture_source200()));
  lplug_dispatch(c->e, 0);
  return c;
}

static void reload_run(void *ctx, long n) {
  reloadctx *c = ctx;
  long i;
  for (i = 0; i < n; i++) {
    must(lplug_reload(c->e, c->name), c->e);
    if (lplug_dispatch(c->e, 0) < 1) bench_die("reload: no event");
  }
}

static void reload_teardown(void *ctx) {
  reloadctx *c = ctx;
  if (lplug_plugin_state(c->e, c->name) != LPLUG_STATE_ACTIVE)
    bench_die("reload: the plugin is not active after reloading");
  lplug_engine_free(c->e);
  free(c);
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

/* The floor of a cached load: no engine code, only what any load that
** serves a compiled chunk must do -- read the plugin's two files (the
** manifest may have changed; the chunk may be served only if the main
** file's bytes are still those it was compiled from), make the state
** with the same libraries, load the chunk's bytecode from memory, run
** it and close the state.  No manifest parsing, no name or path checks,
** no limits: whatever this costs, an engine pays more. */
typedef struct floorload {
  char manifest[4200], main[4200];
  const char *source;
  size_t source_len;
  char *dump;
  size_t dump_len, dump_cap;
  char *buf[2];              /* the files' bytes, read on every load */
} floorload;

static int dump_into(lua_State *L, const void *p, size_t n, void *ud) {
  floorload *f = ud;
  (void)L;
  if (f->dump_len + n > f->dump_cap) {
    size_t cap = (f->dump_len + n) * 2;
    char *d = realloc(f->dump, cap);
    if (d == NULL) return 1;
    f->dump = d;
    f->dump_cap = cap;
  }
  memcpy(f->dump + f->dump_len, p, n);
  f->dump_len += n;
  return 0;
}

static void floor_cached_teardown(void *ctx) {
  floorload *f = ctx;
  free(f->dump);
  free(f);
}

static void *floor_cached_setup(const bcase *bc) {
  floorload *f = calloc(1, sizeof *f);
  const char *dir = fixture_plugin(fresh_name("floor"), "",
                                   fixture_source200());
  lua_State *L;
  (void)bc;
  if (f == NULL) bench_die("out of memory");
  snprintf(f->manifest, sizeof f->manifest, "%s/plugin.yaml", dir);
  snprintf(f->main, sizeof f->main, "%s/init.lua", dir);
  f->source = fixture_source200();
  f->source_len = strlen(f->source);
  L = fixture_raw_state();
  if (luaL_loadbuffer(L, f->source, f->source_len, "@init.lua") != LUA_OK ||
      lua_dump(L, dump_into, f, 0) != 0)
    bench_die("floor_cached: cannot compile the plugin");
  lua_close(L);
  return f;
}

/* The file's bytes in f->buf[i]; its length. */
static size_t floor_read(floorload *f, int i, const char *path) {
  size_t len;
  f->buf[i] = read_file(path, &len);
  return len;
}

static void floor_cached_run(void *ctx, long n) {
  floorload *f = ctx;
  long i;
  for (i = 0; i < n; i++) {
    lua_State *L;
    size_t len;
    floor_read(f, 0, f->manifest);
    len = floor_read(f, 1, f->main);
    if (len != f->source_len || memcmp(f->buf[1], f->source, len) != 0)
      bench_die("floor_cached: the main file changed");
    L = fixture_raw_state();
    if (luaL_loadbufferx(L, f->dump, f->dump_len, "@init.lua", "b") !=
        LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK)
      bench_die("floor_cached: %s", lua_tostring(L, -1));
    lua_close(L);
    free(f->buf[0]);
    free(f->buf[1]);
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


/*
** {======================================================
** Storage: a handler doing storage.set("k" .. n, n), SQLite file backend
** =======================================================
*/

/* Keys cycle over KEYS names, so both sides reach a steady table size
** (each set replaces an entry) whatever the number of iterations. */
#define KEYS 1000

static const char *fresh_db(const char *base) {
  static char path[4200];
  snprintf(path, sizeof path, "%s/%s.db", fixture_root(), fresh_name(base));
  return path;
}

/* storage_batch_ms = 0: every call's write is committed as it ends. */
static void storage_per_call(lplug_config *c) {
  c->storage_path = fresh_db("store");
  c->storage_batch_ms = 0;
}

/* Batched: a commit when a call ends 10 ms or more after the last one (a
** few commits per timed round, so rounds pay their share of them). */
#define BATCH_MS 10
static void storage_batched(lplug_config *c) {
  c->storage_path = fresh_db("store");
  c->storage_batch_ms = BATCH_MS;
}

static void *set_lplug_setup(const bcase *bc) {
  hookctx *c = calloc(1, sizeof *c);
  if (c == NULL) bench_die("out of memory");
  c->e = fixture_engine(bc->configure);
  c->h = fixture_hook(c->e, "bench");
  fixture_load(c->e, fixture_plugin(fresh_name("store"),
               "capabilities:\n  hooks: [bench]\n  storage: {}\n",
               "local storage = require('lplug.storage')\n"
               "require('lplug.hooks').on('bench', function(n) "
               "storage.set('k' .. n, n) end)\n"));
  c->v = lplug_value_new();
  c->b = lplug_builder_new();
  if (c->v == NULL || c->b == NULL) bench_die("out of memory");
  return c;
}

static void set_lplug_run(void *ctx, long n) {
  hookctx *c = ctx;
  long i;
  for (i = 0; i < n; i++) {
    lplug_build_integer(c->b, i % KEYS);
    must(lplug_builder_finish(c->b, c->v), c->e);
    must(lplug_hook_call(c->h, c->v), c->e);
  }
}

static void set_lplug_teardown(void *ctx) {
  hookctx *c = ctx;
  lplug_stats st;
  must(lplug_storage_flush(c->e), c->e);
  if (lplug_plugin_stats(c->e, lplug_plugin_name(c->e, 0), &st) !=
      LPLUG_OK || st.storage_bytes <= 0)
    bench_die("storage_set: nothing was stored");
  hook_teardown(c);
}

/* Raw SQLite: the engine's table and upsert, WAL and synchronous=NORMAL,
** every insert of a run in one transaction; values encoded beforehand. */
typedef struct sqlctx {
  sqlite3 *db;
  sqlite3_stmt *put;
  lplug_value *values[KEYS];
} sqlctx;

static void sql_must(sqlctx *c, int rc) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    bench_die("sqlite: %s", sqlite3_errmsg(c->db));
}

static void *set_raw_setup(const bcase *bc) {
  sqlctx *c = calloc(1, sizeof *c);
  int i;
  (void)bc;
  if (c == NULL) bench_die("out of memory");
  /* Opened as engine/storage.c opens its file: one connection used by
  ** one thread at a time needs no connection mutex. */
  if (sqlite3_open_v2(fresh_db("raw"), &c->db, SQLITE_OPEN_READWRITE |
                      SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK)
    bench_die("sqlite: cannot open");
  sql_must(c, sqlite3_exec(c->db, "PRAGMA journal_mode = WAL; "
           "PRAGMA synchronous = NORMAL; CREATE TABLE lplug_storage ("
           "plugin TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, "
           "PRIMARY KEY (plugin, key)) WITHOUT ROWID;", NULL, NULL, NULL));
  sql_must(c, sqlite3_prepare_v3(c->db, "INSERT INTO lplug_storage (plugin, "
           "key, value) VALUES (?1, ?2, ?3) ON CONFLICT (plugin, key) DO "
           "UPDATE SET value = excluded.value", -1,
           SQLITE_PREPARE_PERSISTENT, &c->put, NULL));
  for (i = 0; i < KEYS; i++) c->values[i] = integer_value(i);
  return c;
}

static void set_raw_run(void *ctx, long n) {
  sqlctx *c = ctx;
  char key[32];
  long i;
  sql_must(c, sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
  for (i = 0; i < n; i++) {
    size_t vlen;
    const void *v = lplug_value_bytes(c->values[i % KEYS], &vlen);
    int klen = snprintf(key, sizeof key, "k%ld", i % KEYS);
    sqlite3_bind_text(c->put, 1, "store", -1, SQLITE_STATIC);
    sqlite3_bind_blob(c->put, 2, key, klen, SQLITE_STATIC);
    sqlite3_bind_blob(c->put, 3, v, (int)vlen, SQLITE_STATIC);
    sql_must(c, sqlite3_step(c->put));
    sqlite3_reset(c->put);
  }
  sql_must(c, sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL));
}

static void set_raw_teardown(void *ctx) {
  sqlctx *c = ctx;
  int i;
  sqlite3_finalize(c->put);
  sqlite3_close(c->db);
  for (i = 0; i < KEYS; i++) lplug_value_free(c->values[i]);
  free(c);
}

/* The floor of storage.set inside handlers: no engine code, only
** set_raw_run's upserts (one transaction a round, values encoded
** beforehand) made from a Lua handler, as a plugin makes them: a pcall
** per set with the count hook armed, the handler's own 'k' .. n, and a C
** function binding the key it is given.  No write set, no undo of a
** failed call, no limits on keys and values: an engine pays more. */
typedef struct floorstore {
  sqlctx *sql;
  lua_State *L;
  int ref;
} floorstore;

static int floor_store_set(lua_State *L) {
  sqlctx *c = lua_touserdata(L, lua_upvalueindex(1));
  size_t klen, vlen;
  const char *k = lua_tolstring(L, 1, &klen);
  const void *v = lplug_value_bytes(c->values[lua_tointeger(L, 2) % KEYS],
                                    &vlen);
  sqlite3_bind_text(c->put, 1, "store", -1, SQLITE_STATIC);
  sqlite3_bind_blob(c->put, 2, k, (int)klen, SQLITE_STATIC);
  sqlite3_bind_blob(c->put, 3, v, (int)vlen, SQLITE_STATIC);
  sql_must(c, sqlite3_step(c->put));
  sqlite3_reset(c->put);
  return 0;
}

static void *floor_store_setup(const bcase *bc) {
  floorstore *f = calloc(1, sizeof *f);
  if (f == NULL) bench_die("out of memory");
  f->sql = set_raw_setup(bc);
  f->L = fixture_raw_state();
  lua_pushlightuserdata(f->L, f->sql);
  lua_pushcclosure(f->L, floor_store_set, 1);
  lua_setglobal(f->L, "set");
  f->ref = fixture_raw_ref(f->L, "local set = set\n"
                           "return function(n) set('k' .. n, n) end");
  return f;
}

static void floor_store_run(void *ctx, long n) {
  floorstore *f = ctx;
  lua_State *L = f->L;
  long i;
  sql_must(f->sql, sqlite3_exec(f->sql->db, "BEGIN IMMEDIATE", NULL, NULL,
                                NULL));
  for (i = 0; i < n; i++) {
    lua_sethook(L, noop_hook, LUA_MASKCOUNT, SANDBOX_BLOCK);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref);
    lua_pushinteger(L, i % KEYS);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) bench_die("%s", lua_tostring(L, -1));
  }
  sql_must(f->sql, sqlite3_exec(f->sql->db, "COMMIT", NULL, NULL, NULL));
}

static void floor_store_teardown(void *ctx) {
  floorstore *f = ctx;
  lua_close(f->L);
  set_raw_teardown(f->sql);
  free(f);
}

/* }====================================================== */


/*
** {======================================================
** Deadline stop: how soon a runaway loop stops after its deadline
** =======================================================
*/

#define STOP_DEADLINE_MS 10

static void stop_mode(lplug_config *c) {
  c->instruction_limit = 0;
  c->time_limit = STOP_DEADLINE_MS * 1000000LL;
}

/* Runs `while true do end` in a handler under a 10 ms deadline, 20 times:
** the mean and the worst time from the call to its LPLUG_ECPU return,
** against the deadline.  Its own engine: failing is what it measures. */
static void stop_measure(const bcase *bc) {
  lplug_config config;
  lplug_engine *e;
  lplug_hook *h;
  lplug_value *v = lplug_value_new();
  double sum = 0, worst = 0;
  int i, runs = bench_quick ? 2 : 20;
  memset(&config, 0, sizeof config);
  stop_mode(&config);
  config.grant = lplug_grant_declared;
  config.failure_limit = -1;
  if (v == NULL || (e = lplug_engine_new(&config)) == NULL)
    bench_die("out of memory");
  h = fixture_hook(e, "bench");
  fixture_load(e, fixture_plugin(fresh_name("spin"), HOOK_CAPS,
               "require('lplug.hooks').on('bench', function() "
               "while true do end end)\n"));
  for (i = 0; i < runs; i++) {
    double t0 = bench_now(), ms;
    int rc = lplug_hook_call(h, v);
    ms = (bench_now() - t0) * 1e3;
    if (rc != LPLUG_ECPU)
      bench_die("deadline_stop: %s, not ECPU: %s", lplug_errname(rc),
                lplug_errmsg(e));
    sum += ms;
    if (ms > worst) worst = ms;
  }
  lplug_value_free(v);
  lplug_engine_free(e);
  bench_row(bc->name, "ms", sum / runs, STOP_DEADLINE_MS, TARGET_REFERENCE,
            0, "a few ms late");
  bench_row("deadline_worst", "ms", worst, STOP_DEADLINE_MS,
            TARGET_REFERENCE, 0, "a few ms late");
}

/* }====================================================== */


#define SIDE(s, r, t) {s, r, t}
#define RAW(s, r) {s, r, raw_teardown}
/* The baselines several cases share: a cold load from memory, and the
** raw SQLite upserts. */
#define LOAD_RAW SIDE(nothing_setup, load_raw_run, free_teardown)
#define SQL_RAW SIDE(set_raw_setup, set_raw_run, set_raw_teardown)

const bcase bench_cases[] = {
  {"hook_int", "hook dispatch, one handler, integer argument, limits "
   "armed, instruction mode; baseline: raw lua_pcall of the same function",
   "ns/call", 1e9, 20000, 2000, TARGET_RATIO_MAX, 1.40, "<=1.40x", 0,
   SIDE(int_lplug_setup, int_lplug_run, int_lplug_teardown),
   RAW(int_raw_setup, int_raw_run), NULL, NULL},
  {"hook_int_deadline", "hook_int in deadline mode (time limit 1 s, no "
   "instruction limit); baseline: raw lua_pcall of the same function",
   "ns/call", 1e9, 20000, 2000, TARGET_RATIO_MAX, 1.10, "<=1.10x", 0,
   SIDE(int_lplug_setup, int_lplug_run, int_lplug_teardown),
   RAW(int_raw_setup, int_raw_run), NULL, deadline_mode},
  {"floor_deadline", "no engine code: hook_int's baseline plus reading "
   "the integer result back, the least a dispatch returning its result "
   "costs in liblua; baseline: raw lua_pcall (hook_int_deadline's target "
   "is 1.10x)", "ns/call", 1e9, 20000, 2000, TARGET_REFERENCE, 1.10,
   "1.10x (floor)", 0, SIDE(floor_result_setup, floor_run, raw_teardown),
   RAW(int_raw_setup, int_raw_run), NULL, NULL},
  {"floor_insn", "floor_deadline with a count hook armed before each call, "
   "as a per-call instruction budget needs; baseline: raw lua_pcall "
   "(hook_int's target is 1.40x)", "ns/call", 1e9, 20000, 2000,
   TARGET_REFERENCE, 1.40, "1.40x (floor)", 0,
   SIDE(floor_budget_setup, floor_run, raw_teardown),
   RAW(int_raw_setup, int_raw_run), NULL, NULL},
  {"hook_record3", "hook dispatch with a 3-field record built in C "
   "(builder); baseline: lua_createtable + 3 lua_setfield + lua_pcall",
   "ns/call", 1e9, 20000, 2000, TARGET_RATIO_MAX, 1.20, "<=1.20x", 0,
   SIDE(rec_lplug_setup, rec_lplug_run, hook_teardown),
   RAW(rec_raw_setup, rec_raw_run), NULL, NULL},
  {"floor_record3", "no engine code: hook_record3's baseline with the "
   "table built inside the protected call (a C function building it, "
   "then calling the handler), the count hook armed and the result read; "
   "baseline: as hook_record3's (its target is 1.20x)", "ns/call", 1e9,
   20000, 2000, TARGET_REFERENCE, 1.20, "1.20x (floor)", 0,
   SIDE(rec_raw_setup, floor_record_run, raw_teardown),
   RAW(rec_raw_setup, rec_raw_run), NULL, NULL},
  {"loop_insn", "tight Lua loop (10000 iterations) inside a handler, "
   "instruction mode; baseline: the same loop, raw pcall, no hook "
   "(target is for deadline mode)",
   "us/call", 1e6, 200, 2, TARGET_REFERENCE, 1.05, "1.05x (deadline)", 0,
   SIDE(loop_lplug_setup, loop_lplug_run, hook_teardown),
   RAW(loop_raw_setup, loop_raw_run), NULL, NULL},
  {"loop_deadline", "tight Lua loop (10000 iterations) inside a handler, "
   "deadline mode; baseline: the same loop, raw pcall, no hook",
   "us/call", 1e6, 200, 2, TARGET_RATIO_MAX, 1.05, "<=1.05x", 0,
   SIDE(loop_lplug_setup, loop_lplug_run, hook_teardown),
   RAW(loop_raw_setup, loop_raw_run), NULL, deadline_mode},
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
  {"load_cold", "cold load of a 200-line plugin, not in the bytecode "
   "cache (engine new, lplug_load_plugin, engine free); baseline: new "
   "state + libraries + luaL_loadbuffer + run + close", "us/plugin", 1e6,
   200, 3, TARGET_RATIO_MAX, 1.10, "<=1.10x", 0,
   SIDE(cold_setup, load_lplug_run, cold_teardown),
   LOAD_RAW, NULL, NULL},
  {"load_cached", "load_cold with the plugin in the bytecode cache (the "
   "same folder each time); baseline: as load_cold's", "us/plugin", 1e6,
   200, 3, TARGET_RATIO_MAX, 0.30, "<=0.30x", 0,
   SIDE(cached_setup, cached_run, free_teardown),
   LOAD_RAW, NULL, NULL},
  {"floor_cached", "no engine code: the least a cached load does (read "
   "plugin.yaml and init.lua, new state + libraries, load the chunk's "
   "bytecode from memory, run, close); baseline: as load_cold's "
   "(load_cached's target is 0.30x)", "us/plugin", 1e6, 200, 3,
   TARGET_REFERENCE, 0.30, "0.30x (floor)", 0,
   SIDE(floor_cached_setup, floor_cached_run, floor_cached_teardown),
   LOAD_RAW, NULL, NULL},
  {"reload", "lplug_reload of the loaded 200-line plugin (+ dispatch of "
   "its event); baseline: load_cold's engine side", "us/plugin", 1e6,
   200, 3, TARGET_RATIO_MAX, 1.20, "<=1.20x", 0,
   SIDE(reload_setup, reload_run, reload_teardown),
   SIDE(cold_setup, load_lplug_run, cold_teardown), NULL, NULL},
  {"event_record3", "host emits a 3-field record (builder), dispatch "
   "delivers it to one plugin subscriber; baseline: the same table built "
   "in the subscriber's state + lua_pcall", "ns/event", 1e9, 20000, 2000,
   TARGET_RATIO_MAX, 2.50, "<=2.50x", 0,
   SIDE(event_lplug_setup, event_lplug_run, hook_teardown),
   RAW(event_raw_setup, event_raw_run), NULL, NULL},
  {"storage_set", "handler doing storage.set('k' .. n, n) over 1000 keys, "
   "SQLite file, storage_batch_ms = 0 (commit per call); baseline: the "
   "same upserts in one raw SQLite transaction (WAL, synchronous=NORMAL)",
   "sets/s", 1, 2000, 2000, TARGET_RATIO_MIN, 0.80, ">=0.80x", 0,
   SIDE(set_lplug_setup, set_lplug_run, set_lplug_teardown),
   SQL_RAW, NULL,
   storage_per_call},
  {"storage_batch", "storage_set with storage_batch_ms = 10; baseline: as "
   "storage_set's", "sets/s", 1, 2000, 2000, TARGET_RATIO_MIN, 0.80,
   ">=0.80x", 0,
   SIDE(set_lplug_setup, set_lplug_run, set_lplug_teardown),
   SQL_RAW, NULL,
   storage_batched},
  {"floor_storage", "no engine code: storage_set's baseline made from a "
   "Lua handler (pcall per set with the count hook armed, 'k' .. n in "
   "Lua, a C function binding the key); baseline: as storage_set's "
   "(storage_batch's target is 0.80x)", "sets/s", 1, 2000, 2000,
   TARGET_REFERENCE_MIN, 0.80, "0.80x (floor)", 0,
   SIDE(floor_store_setup, floor_store_run, floor_store_teardown),
   SQL_RAW, NULL, NULL},
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
  {"deadline_stop", "a runaway loop under a 10 ms deadline, 20 runs: mean "
   "ms from call to LPLUG_ECPU (then the worst, as deadline_worst); "
   "baseline: the deadline", "ms", 1, 0, 0, TARGET_REFERENCE, 0,
   "a few ms late", 0, {NULL, NULL, NULL}, {NULL, NULL, NULL},
   stop_measure, NULL},
  {NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, {NULL, NULL, NULL},
   {NULL, NULL, NULL}, NULL, NULL}
};
