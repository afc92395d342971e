/*
** measure-deadline.c -- what deadline mode costs, as ratios measured in
** one run (a stopgap until `make bench` covers it):
**   - a tight Lua loop in a handler: deadline mode and instruction mode
**     against the same loop in a plain lua_State with no hook;
**   - dispatching a trivial handler: lplug_hook_run in deadline mode and
**     in instruction mode, and a raw lua_pcall of a trivial function;
**   - how long after its 10 ms deadline a runaway loop stops.
**
**   make build && cc -O2 -pthread -Iinclude $(pkg-config --cflags lua5.4) \
**     scripts/measure-deadline.c build/liblplug.a \
**     $(pkg-config --libs lua5.4 yaml-0.1 sqlite3) -lm -pthread \
**     -o build/measure-deadline && build/measure-deadline
*/
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lplug.h"

#define LOOP "for i = 1, 20000000 do end"
#define CALLS 200000
#define ROUNDS 5

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL) { perror(path); exit(1); }
  fputs(text, f);
  fclose(f);
}

/* A plugin folder root/name whose handler on hook `hook` runs `body`. */
static void plugin(const char *root, const char *name, const char *hook,
                   const char *body) {
  char path[4096], code[1024];
  snprintf(path, sizeof path, "%s/%s", root, name);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/%s/plugin.yaml", root, name);
  snprintf(code, sizeof code, "name: %s\nversion: 1.0.0\ncapabilities:\n"
           "  hooks: ['*']\n", name);
  write_file(path, code);
  snprintf(path, sizeof path, "%s/%s/init.lua", root, name);
  snprintf(code, sizeof code, "require('lplug.hooks').on('%s', function(v)\n"
           "%s\nend)\n", hook, body);
  write_file(path, code);
}

static lplug_engine *engine(const char *root, long long instructions,
                            long long time) {
  lplug_config c;
  lplug_engine *e;
  char path[4096];
  memset(&c, 0, sizeof c);
  c.instruction_limit = instructions;
  c.time_limit = time;
  c.grant = lplug_grant_declared;
  e = lplug_engine_new(&c);
  lplug_hook_define(e, "loop", 0, NULL);
  lplug_hook_define(e, "call", 0, NULL);
  lplug_hook_define(e, "spin", 0, NULL);
  snprintf(path, sizeof path, "%s/p", root);
  if (lplug_load_plugin(e, path) != LPLUG_OK) {
    fprintf(stderr, "%s\n", lplug_errmsg(e));
    exit(1);
  }
  return e;
}

/* Best of ROUNDS: seconds for one run of hook `hook`, n times. */
static double time_hook(lplug_engine *e, const char *hook, int n) {
  double best = 1e9;
  int r, i;
  lplug_value *v = lplug_value_new();
  for (r = 0; r < ROUNDS; r++) {
    double t0 = now();
    for (i = 0; i < n; i++) lplug_hook_run(e, hook, v);
    if (now() - t0 < best) best = now() - t0;
  }
  lplug_value_free(v);
  return best;
}

static int nop(lua_State *L) { (void)L; return 0; }

static double time_raw(const char *chunk, int n) {
  lua_State *L = luaL_newstate();
  double best = 1e9;
  int r, i;
  luaL_openlibs(L);
  for (r = 0; r < ROUNDS; r++) {
    double t0;
    if (chunk) luaL_loadstring(L, chunk);
    else lua_pushcfunction(L, nop);
    t0 = now();
    for (i = 0; i < n; i++) {
      lua_pushvalue(L, -1);
      lua_pcall(L, 0, 0, 0);
    }
    if (now() - t0 < best) best = now() - t0;
    lua_pop(L, 1);
  }
  lua_close(L);
  return best;
}

int main(void) {
  char root[] = "/tmp/lplug-measure-XXXXXX";
  lplug_engine *dl, *ic;
  double raw_loop, raw_call, dl_loop, ic_loop, dl_call, ic_call, t0;
  lplug_value *v;
  int i;
  if (mkdtemp(root) == NULL) { perror("mkdtemp"); return 1; }
  plugin(root, "p", "loop", LOOP);
  /* a second handler file would need a second plugin: one plugin, three
  ** hooks, chosen by the argument */
  {
    char path[4096];
    snprintf(path, sizeof path, "%s/p/init.lua", root);
    write_file(path,
      "local hooks = require 'lplug.hooks'\n"
      "hooks.on('loop', function() " LOOP " end)\n"
      "hooks.on('call', function(v) return v end)\n"
      "hooks.on('spin', function() while true do end end)\n");
  }
  dl = engine(root, 0, 1000000000LL);            /* deadline mode, 1 s */
  ic = engine(root, 1000000000000LL, 0);         /* instruction mode */
  raw_loop = time_raw(LOOP, 1);
  dl_loop = time_hook(dl, "loop", 1);
  ic_loop = time_hook(ic, "loop", 1);
  raw_call = time_raw(NULL, CALLS);
  dl_call = time_hook(dl, "call", CALLS);
  ic_call = time_hook(ic, "call", CALLS);
  printf("tight loop (20M iterations), best of %d:\n", ROUNDS);
  printf("  raw Lua, no hook     %8.1f ms\n", raw_loop * 1e3);
  printf("  deadline mode        %8.1f ms  %.2fx raw\n", dl_loop * 1e3,
         dl_loop / raw_loop);
  printf("  instruction mode     %8.1f ms  %.2fx raw\n", ic_loop * 1e3,
         ic_loop / raw_loop);
  printf("hook dispatch, trivial handler, per call:\n");
  printf("  raw lua_pcall        %8.1f ns\n", raw_call / CALLS * 1e9);
  printf("  deadline mode        %8.1f ns  %.2fx instruction mode\n",
         dl_call / CALLS * 1e9, dl_call / ic_call);
  printf("  instruction mode     %8.1f ns\n", ic_call / CALLS * 1e9);
  lplug_engine_free(dl);
  /* stop latency: 10 ms deadline, runaway loop */
  {
    lplug_config c;
    char path[4096];
    double worst = 0, sum = 0;
    memset(&c, 0, sizeof c);
    c.time_limit = 10000000LL;
    c.grant = lplug_grant_declared;
    dl = lplug_engine_new(&c);
    lplug_hook_define(dl, "loop", 0, NULL);
    lplug_hook_define(dl, "call", 0, NULL);
    lplug_hook_define(dl, "spin", 0, NULL);
    snprintf(path, sizeof path, "%s/p", root);
    lplug_load_plugin(dl, path);
    v = lplug_value_new();
    for (i = 0; i < 20; i++) {
      double late;
      t0 = now();
      lplug_hook_run(dl, "spin", v);
      late = now() - t0 - 0.010;
      sum += late;
      if (late > worst) worst = late;
    }
    printf("runaway loop, 10 ms deadline, 20 runs: stopped %.2f ms after "
           "the deadline on average, %.2f ms at worst\n", sum / 20 * 1e3,
           worst * 1e3);
    lplug_value_free(v);
    lplug_engine_free(dl);
  }
  lplug_engine_free(ic);
  {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) return 1;
  }
  return 0;
}
