/*
** fixture.c -- what the benchmark cases share: a temporary folder of
** plugin folders, engines that refuse to measure failures, plain Lua
** states with the plugin libraries, and the resident set size.
*/
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "bench/bench.h"

void bench_die(const char *fmt, ...) {
  va_list ap;
  fputs("bench: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

/* ---- plugin folders ------------------------------------------------------ */

static char root[4096];
static pid_t root_owner;  /* forked children must not remove it */

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st; (void)flag; (void)ftw;
  return remove(path);
}

static void remove_root(void) {
  if (root[0] && getpid() == root_owner)
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fixture_root(void) {
  const char *given = getenv("LPLUG_BENCH_ROOT");  /* a parent's: kept */
  if (root[0] == '\0' && given != NULL) {
    snprintf(root, sizeof root, "%s", given);
  } else if (root[0] == '\0') {
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/lplug-bench-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(root) == NULL) bench_die("cannot make a folder in %s", root);
    root_owner = getpid();
    atexit(remove_root);
    if (setenv("LPLUG_BENCH_ROOT", root, 1) != 0) bench_die("out of memory");
  }
  return root;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
    bench_die("cannot write %s", path);
}

const char *fixture_plugin(const char *name, const char *caps,
                           const char *lua) {
  static char dir[4096];
  char path[4200], yaml[1024];
  const char *base = strrchr(name, '/');
  snprintf(dir, sizeof dir, "%s/%s", fixture_root(), name);
  /* Children share the folder: they rewrite the same idle plugins. */
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    bench_die("cannot make folder %s", dir);
  snprintf(path, sizeof path, "%s/plugin.yaml", dir);
  snprintf(yaml, sizeof yaml, "name: %s\nversion: 1.0.0\n%s",
           base ? base + 1 : name, caps);
  write_file(path, yaml);
  snprintf(path, sizeof path, "%s/init.lua", dir);
  write_file(path, lua);
  return dir;
}

/* ---- engines -------------------------------------------------------------- */

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  (void)ud; (void)plugin; (void)traceback;
  bench_die("plugin failure while measuring (%s): %s", lplug_errname(code),
            message);
}

lplug_engine *fixture_engine(void (*configure)(lplug_config *config)) {
  lplug_config config;
  lplug_engine *e;
  memset(&config, 0, sizeof config);
  if (configure) configure(&config);
  config.grant = lplug_grant_declared;
  config.on_error = on_error;
  e = lplug_engine_new(&config);
  if (e == NULL) bench_die("out of memory making an engine");
  return e;
}

lplug_hook *fixture_hook(lplug_engine *e, const char *name) {
  lplug_hook *h;
  if (lplug_hook_define(e, name, LPLUG_HOOK_FAIL_CLOSED, &h) != LPLUG_OK)
    bench_die("%s", lplug_errmsg(e));
  return h;
}

void fixture_load(lplug_engine *e, const char *dir) {
  if (lplug_load_plugin(e, dir) != LPLUG_OK)
    bench_die("%s", lplug_errmsg(e));
}

/* ---- plain Lua ------------------------------------------------------------ */

void fixture_raw_libs(lua_State *L) {
  static const luaL_Reg libs[] = {
    {LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string},
    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
    {LUA_OSLIBNAME, luaopen_os}, {NULL, NULL}
  };
  const luaL_Reg *lib;
  for (lib = libs; lib->func; lib++) {
    luaL_requiref(L, lib->name, lib->func, 1);
    lua_pop(L, 1);
  }
}

lua_State *fixture_raw_state(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) bench_die("out of memory making a Lua state");
  fixture_raw_libs(L);
  return L;
}

int fixture_raw_ref(lua_State *L, const char *lua) {
  if (luaL_loadstring(L, lua) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
    bench_die("baseline chunk failed: %s", lua_tostring(L, -1));
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* ---- measures ------------------------------------------------------------- */

size_t fixture_rss(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2)
    bench_die("cannot read /proc/self/statm");
  fclose(f);
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* 1 + 39 functions of 5 lines + 4 = 200 lines: arithmetic, branches,
** locals, a table of settings and a loop calling every function. */
const char *fixture_source200(void) {
  static char text[16384];
  size_t n = 0;
  int i;
  if (text[0]) return text;
  n += (size_t)snprintf(text + n, sizeof text - n, "local M = {}\n");
  for (i = 1; i <= 39; i++)
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "function M.f%d(a, b)\n"
                          "  local c = a * %d + b\n"
                          "  if c > %d then return c - 1, 'big%d' end\n"
                          "  return c + 1, 'small%d'\n"
                          "end\n", i, i, 10 * i, i, i);
  snprintf(text + n, sizeof text - n,
           "local settings = { name = 'bench', limit = 200, on = true }\n"
           "local total = 0\n"
           "for i = 1, 39 do total = total + M['f' .. i](i, settings.limit) end\n"
           "assert(total > 0)\n");
  return text;
}
