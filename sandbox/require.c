/*
** require.c -- the only way a plugin loads code.
**
** require "lplug.x" asks the owner (open_module), which grants or refuses;
** require "a.b" loads a/b.lua or a/b/init.lua from the plugin's own folder,
** as a text chunk.  Names are dot-separated words of [A-Za-z0-9_-]; files
** must resolve (realpath, so symlinks count) inside the plugin folder.
** As Lua's require, the load also returns the loader data: the file's
** path in the folder, or ":lplug:".  Modules are cached per state, and a
** module that requires itself while loading gets an error instead of a
** loop.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "sandbox/sandbox.h"

static const char *const LOADED = "lplug.loaded";
/* require's second result for an lplug module, as Lua's is ":preload:"
** for a module of package.preload. */
#define LOADER_DATA ":lplug:"
static const char LOADING = 0;  /* its address marks a module in progress */

#define SOURCE_BYTES_PER_INSTRUCTION 4

/* Looking a file of the folder up is a few system calls (realpath checks
** every part of the path): about 8 us, the time of a thousand
** instructions.  A require that fails is not cached, so one retried in a
** loop, uncharged, took the host 4 s of system calls for a budget of 1M
** instructions (hostile cpu-require-retried). */
#define FILE_LOOKUP_INSTRUCTIONS 1000

/* Resolves rel inside the plugin folder into `out` (and its stat into
** st); 1 when the file is a regular file inside it, 0 when missing, -1
** when it escapes.  `fresh`: the load making this state resolved
** config.dir moments ago (a plugin's main file, run right after its state
** is made), so a regular file directly in it, not a symlink, resolves to
** dir/rel: realpath would walk each part of dir again to say so, four
** system calls of the fourteen a small plugin's load makes.  Anything
** else (a symlink, a subfolder) takes realpath. */
static int resolve(const sandbox *sb, const char *rel, char *out,
                   struct stat *st, int fresh) {
  char path[PATH_MAX];
  size_t n = strlen(sb->config.dir);
  if (snprintf(path, sizeof path, "%s/%s", sb->config.dir, rel) >=
      (int)sizeof path)
    return 0;
  if (fresh && strchr(rel, '/') == NULL && lstat(path, st) == 0 &&
      S_ISREG(st->st_mode)) {
    memcpy(out, path, strlen(path) + 1);
    return 1;
  }
  if (realpath(path, out) == NULL) return 0;
  if (strncmp(out, sb->config.dir, n) != 0 || out[n] != '/') return -1;
  if (stat(out, st) != 0 || !S_ISREG(st->st_mode)) return 0;
  return 1;
}

/* Reads up to n bytes of fd into buf; returns how many it got (fewer at
** the end of the file, or on an error). */
static size_t read_up_to(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  return got;
}

static void loadfile(lua_State *L, const char *rel, int fresh) {
  sandbox *sb = sandbox_of(L);
  char path[PATH_MAX], chunkname[PATH_MAX + 64], *buf;
  struct stat st;
  size_t size, got;
  int fd, status, r = resolve(sb, rel, path, &st, fresh);
  if (r < 0)
    luaL_error(L, "cannot load '%s': it resolves outside the plugin folder",
               rel);
  if (r == 0)
    luaL_error(L, "cannot load '%s': no such file in the plugin folder", rel);
  if (st.st_size > SANDBOX_MAX_SOURCE)
    luaL_error(L, "cannot load '%s': %d bytes is over the %d-byte limit for "
               "a source file", rel, (int)st.st_size, SANDBOX_MAX_SOURCE);
  budget_charge(L, (long long)st.st_size / SOURCE_BYTES_PER_INSTRUCTION);
  /* open and read, not stdio: fopen's buffer and its fstat are a malloc
  ** and a system call more per plugin loaded, for one read.  path was
  ** checked to be a regular file, not a link: O_NOFOLLOW refuses one put
  ** in its place since (it could point out of the folder). */
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    luaL_error(L, "cannot load '%s': %s", rel, strerror(errno));
  /* The text is read into memory counted against the plugin's limit, as
  ** a userdata's would be, but that the collector never sees: a userdata
  ** was garbage as soon as the chunk was compiled, and its bytes made the
  ** collector take a step per load (12 K instructions of a 200-line
  ** plugin's cached load).  Nothing raises until it is freed: lua_load
  ** returns its errors. */
  size = (size_t)st.st_size + 1;
  buf = sandbox_alloc(sb, NULL, 0, size);
  if (buf == NULL && sb->refusal == SANDBOX_REFUSAL_SOFT) {
    lua_gc(L, LUA_GCCOLLECT);  /* and try again, as Lua would (alloc.c) */
    buf = sandbox_alloc(sb, NULL, 0, size);
  }
  if (buf == NULL) {
    close(fd);
    budget_note_where(sb, L);  /* the allocator may not have */
    budget_raise(L);           /* refused: the call stops for memory */
  }
  got = read_up_to(fd, buf, (size_t)st.st_size);
  close(fd);
  snprintf(chunkname, sizeof chunkname, "@%s/%s", sb->config.name, rel);
  status = chunkcache_load(L, buf, got, chunkname);
  sandbox_alloc(sb, buf, size, 0);
  if (status != LUA_OK) lua_error(L);
}

void sandbox_loadfile(lua_State *L, const char *rel) {
  loadfile(L, rel, 0);
}

void sandbox_loadmain(lua_State *L, const char *rel) {
  loadfile(L, rel, 1);
}

/* Whether name is dot-separated words of [A-Za-z0-9_-]. */
static int valid_name(const char *name) {
  size_t word = 0;
  const char *p;
  if (strlen(name) > 200) return 0;
  for (p = name; *p; p++) {
    if (*p == '.') {
      if (word == 0) return 0;
      word = 0;
    } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
               (*p >= '0' && *p <= '9') || *p == '_' || *p == '-') {
      word++;
    } else {
      return 0;
    }
  }
  return word > 0;
}

/* Pushes the chunk of local module `name` and its file's path in the
** plugin folder ("util/strings.lua"), or raises saying why not. */
static void find_local(lua_State *L, const char *name) {
  sandbox *sb = sandbox_of(L);
  char rel[256], alt[270], path[PATH_MAX];
  struct stat st;
  size_t i;
  int r;
  if (!valid_name(name))
    luaL_error(L, "require '%s': not a module name (plugins require "
               "'lplug.*' modules or files of their folder as 'dir.file')",
               name);
  snprintf(rel, sizeof rel, "%s", name);
  for (i = 0; rel[i]; i++)
    if (rel[i] == '.') rel[i] = '/';
  snprintf(alt, sizeof alt, "%s/init.lua", rel);
  strcat(rel, ".lua");
  budget_charge(L, FILE_LOOKUP_INSTRUCTIONS);
  if ((r = resolve(sb, rel, path, &st, 0)) > 0) {
    budget_charge(L, FILE_LOOKUP_INSTRUCTIONS);  /* resolved again, read */
    sandbox_loadfile(L, rel);
    lua_pushstring(L, rel);
    return;
  }
  if (r == 0) budget_charge(L, FILE_LOOKUP_INSTRUCTIONS);
  if (r == 0 && (r = resolve(sb, alt, path, &st, 0)) > 0) {
    budget_charge(L, FILE_LOOKUP_INSTRUCTIONS);
    sandbox_loadfile(L, alt);
    lua_pushstring(L, alt);
    return;
  }
  if (r < 0)
    luaL_error(L, "require '%s': the file resolves outside the plugin folder",
               name);
  luaL_error(L, "require '%s': no file '%s' or '%s' in plugin '%s' (plugins "
             "can require 'lplug.*' modules they are granted and Lua files "
             "of their own folder; standard libraries are already loaded "
             "or not available)", name, rel, alt, sb->config.name);
}

/* Runs a local module's chunk as Lua's require does: the chunk gets the
** name and the file (`...`), and the file comes back after the module.
** 1: name, 2: chunk, 3: file. */
static int run_local(lua_State *L) {
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 3);
  lua_call(L, 2, 1);
  lua_pushvalue(L, 3);
  return 2;                                        /* module, file */
}

static int sb_require(lua_State *L) {
  sandbox *sb = sandbox_of(L);
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  /* a NUL would cut the name the grant and the file see, not the cache */
  luaL_argcheck(L, strlen(name) == len, 1, "a module name has no NUL byte");
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LOADED);          /* 2: loaded */
  lua_pushvalue(L, 1);
  if (lua_rawget(L, 2) != LUA_TNIL) {
    if (lua_touserdata(L, -1) == &LOADING)
      return luaL_error(L, "require '%s': circular require (the module is "
                        "still loading)", name);
    return 1;
  }
  lua_pop(L, 1);
  if (strncmp(name, "lplug.", 6) == 0) {
    sb->config.open_module(L, name + 6, sb->config.owner);
    /* Lua names a function in an argument error by looking it up in the
    ** registry's _LOADED ("bad argument #1 to 'lplug.storage.get'" when
    ** called through pcall); only that looks there: require reads its
    ** own cache, and _LOADED also holds the libraries the sandbox left
    ** out. */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
    lua_pushliteral(L, LOADER_DATA);
  } else {
    /* Found and compiled here, not under the pcall below: an error of
    ** find_local's is then raised from require itself, and names the
    ** line of the plugin that called it ("init.lua:4: require 'x': no
    ** file ..."), as an lplug module's refusal does. */
    find_local(L, name);                               /* 3: chunk, 4: file */
    lua_pushvalue(L, 1);
    lua_pushlightuserdata(L, (void *)&LOADING);
    lua_rawset(L, 2);
    lua_pushcfunction(L, run_local);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 4);
    if (lua_pcall(L, 3, 2, 0) != LUA_OK) {  /* forget it, then re-raise */
      lua_pushvalue(L, 1);
      lua_pushnil(L);
      lua_rawset(L, 2);
      return lua_error(L);
    }
    lua_replace(L, 4);                                 /* the file */
    lua_replace(L, 3);                                 /* the module */
  }
  /* 3: the module, 4: the loader data */
  if (lua_isnil(L, 3)) {
    lua_pushboolean(L, 1);
    lua_replace(L, 3);
  }
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 3);
  lua_rawset(L, 2);
  return 2;  /* as Lua's: the loader data only when this call loaded it */
}

void require_open(lua_State *L) {
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LOADED);
  lua_pushcfunction(L, sb_require);
  lua_setfield(L, -2, "require");
}
