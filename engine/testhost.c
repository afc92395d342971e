/*
** testhost.c -- lplug_spec_run: runs one spec file in the test host.
**
** The spec runs in a sandbox of its own (testhost.h): the runner
** (stdlib/spec.lua, embedded at build time) defines describe/it/assert,
** the spec file is loaded from the plugin's folder as a plugin's files
** are, and each test then runs as a separate sandbox call, so each gets
** the whole instruction budget and a runaway test fails alone.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lplug.h"
#include "engine/engine.h"
#include "engine/testhost.h"

/* stdlib/spec.lua, made into C by scripts/embed-lua. */
extern const char spec_lua[];
extern const size_t spec_lua_len;

#define DEFAULT_MEMORY (64u * 1024u * 1024u)
#define DEFAULT_INSTRUCTIONS 100000000LL

testhost *testhost_of(lua_State *L) {
  return (testhost *)sandbox_of(L)->config.owner;
}

static int open_module(lua_State *L, const char *name, void *owner) {
  (void)owner;
  if (strcmp(name, "test") == 0) {
    luaL_requiref(L, "lplug.test", luaopen_lplug_test, 0);
    return 1;
  }
  return luaL_error(L, "require 'lplug.%s': a spec has only lplug.test (load "
                    "the plugin with test.load and use the module there)",
                    name);
}

typedef struct spec_call {
  const char *file;          /* the spec, relative to the plugin folder */
  int runner;                /* registry ref of the runner table */
  int i;                     /* the test */
  const lplug_spec_options *o;
} spec_call;

static void print_line(void *owner, const char *text) {
  testhost *th = owner;
  const lplug_spec_options *o = th->options;
  if (o && o->on_log) o->on_log(o->ud, LPLUG_LOG_INFO, "spec", text);
}

#define RUNNER_CHUNK "=lplug/spec.lua"

/* Message handler of protect: notes the first Lua frame that is not the
** runner's, "file:line", in the test host.  It runs where the error was
** raised, before the stack unwinds (which is why the runner cannot use
** the sandbox's xpcall, whose handler runs after); it runs no plugin
** code and allocates nothing, and returns the error object as it is. */
static int note_where(lua_State *L) {
  testhost *th = testhost_of(L);
  lua_Debug ar;
  int level;
  th->where[0] = '\0';
  for (level = 1; lua_getstack(L, level, &ar); level++) {
    if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 &&
        strcmp(ar.source, RUNNER_CHUNK) != 0) {
      snprintf(th->where, sizeof th->where, "%s:%d", ar.short_src,
               ar.currentline);
      break;
    }
  }
  return 1;
}

/* protect(f) for the runner: true; or false, the error object and, when
** known, where it was raised.  An error object that is not a string has
** no place in it; this is how a test's error({}) still names its line.
** A limit error caught here is raised again by the budget at the
** runner's next instruction, as with pcall. */
static int protect(lua_State *L) {
  testhost *th = testhost_of(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_pushcfunction(L, note_where);
  lua_insert(L, 1);                                    /* handler, f */
  th->where[0] = '\0';
  if (lua_pcall(L, 0, 0, 1) == LUA_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_insert(L, -2);                                   /* false, error */
  if (th->where[0] == '\0') return 2;
  lua_pushstring(L, th->where);
  return 3;
}

/* Loads the runner and the spec file; returns the number of tests. */
static int collect(lua_State *L) {
  spec_call *c = lua_touserdata(L, 1);
  if (luaL_loadbufferx(L, spec_lua, spec_lua_len, RUNNER_CHUNK, "t") !=
      LUA_OK)
    return lua_error(L);
  lua_pushcfunction(L, protect);
  lua_call(L, 1, 1);                                   /* runner */
  lua_pushvalue(L, -1);
  c->runner = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, -1, "collect");
  sandbox_loadfile(L, c->file);                        /* the spec chunk */
  lua_call(L, 1, 1);
  return 1;
}

/* Pushes runner[what](c->i): the test's name, or its run. */
static int call_runner(lua_State *L, const char *what, int nres) {
  spec_call *c = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->runner);
  lua_getfield(L, -1, what);
  lua_pushinteger(L, c->i);
  lua_call(L, 1, nres);
  return nres;
}

static int test_name(lua_State *L) { return call_runner(L, "name", 1); }
static int test_run(lua_State *L) { return call_runner(L, "run", 1); }

/* The failure of the last call, as "message" (limits name themselves). */
static const char *failure(const sandbox *sb, int rc, char *buf, size_t n) {
  char size[32];
  if (rc == LPLUG_ECPU && sb->stop == SANDBOX_STOP_BACKSTOP)
    snprintf(buf, n, "%s: time backstop of %g s passed before the "
             "instruction budget of %lld was spent (a few operations on "
             "long strings take time no instruction count shows)",
             sandbox_where(sb)[0] ? sandbox_where(sb) : "?",
             (double)sb->config.backstop / 1e9, sb->config.instruction_limit);
  else if (rc == LPLUG_ECPU)
    snprintf(buf, n, "%s: instruction budget of %lld spent (a test loops "
             "forever, or needs more: lplug test --instructions N)",
             sandbox_where(sb)[0] ? sandbox_where(sb) : "?",
             sb->config.instruction_limit);
  else if (rc == LPLUG_EMEM)
    snprintf(buf, n, "%s: memory budget of %s of the test host exhausted "
             "(lplug test --memory SIZE gives more)",
             sandbox_where(sb)[0] ? sandbox_where(sb) : "?",
             engine_size_text(sb->config.memory_limit, size, sizeof size));
  else
    snprintf(buf, n, "%s", sandbox_message(sb));
  return buf;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s && s[1] ? s + 1 : path;
}

int lplug_spec_run(const char *plugin_dir, const char *spec,
                   const lplug_spec_options *options, int *passed,
                   int *failed, char *err, size_t errsize) {
  testhost *th;
  sandbox_config sc;
  spec_call c;
  char msg[2048];
  int rc, n, i;
  if (err == NULL) errsize = 0;  /* no room for a message: none written */
  if (plugin_dir == NULL || spec == NULL || passed == NULL || failed == NULL) {
    snprintf(err, errsize, "lplug_spec_run: a plugin folder, a spec file and "
             "two counters are needed");
    return LPLUG_EINVAL;
  }
  th = calloc(1, sizeof *th);
  if (th == NULL) {
    snprintf(err, errsize, "out of memory");
    return LPLUG_ENOMEM;
  }
  if (realpath(plugin_dir, th->dir) == NULL) {
    snprintf(err, errsize, "cannot open plugin folder '%s' (check the path)",
             plugin_dir);
    free(th);
    return LPLUG_EIO;
  }
  th->options = options;
  memset(&sc, 0, sizeof sc);
  sc.name = base_name(th->dir);
  sc.dir = th->dir;
  sc.memory_limit = options && options->memory_limit ? options->memory_limit
                                                     : DEFAULT_MEMORY;
  sc.instruction_limit = options && options->instruction_limit
                           ? options->instruction_limit : DEFAULT_INSTRUCTIONS;
  sc.backstop = engine_backstop(sc.instruction_limit);
  sc.open_module = open_module;
  sc.print = print_line;
  sc.owner = th;
  if (sandbox_open(&th->sb, &sc, err, errsize) != 0) {
    free(th);
    return LPLUG_EMEM;
  }
  memset(&c, 0, sizeof c);
  c.file = spec;
  c.runner = LUA_NOREF;
  c.o = options;
  rc = sandbox_pcall(&th->sb, collect, &c, 1);
  if (rc != LPLUG_OK) {
    snprintf(err, errsize, "%s", failure(&th->sb, rc, msg, sizeof msg));
    if (rc == LPLUG_ERUNTIME && c.runner == LUA_NOREF) rc = LPLUG_ELOAD;
    goto done;
  }
  n = (int)lua_tointeger(th->sb.L, -1);
  lua_pop(th->sb.L, 1);
  for (i = 1; i <= n; i++) {
    char name[512] = "?";
    c.i = i;
    if (sandbox_pcall(&th->sb, test_name, &c, 1) == LPLUG_OK) {
      snprintf(name, sizeof name, "%s", lua_tostring(th->sb.L, -1));
      lua_pop(th->sb.L, 1);
    }
    rc = sandbox_pcall(&th->sb, test_run, &c, 1);
    if (rc == LPLUG_OK) {
      int pending = lua_toboolean(th->sb.L, -1);  /* an `it` without fn */
      lua_pop(th->sb.L, 1);
      if (!pending) ++*passed;
      if (options && options->on_result)
        options->on_result(options->ud, name, pending ? LPLUG_SPEC_PENDING
                                                      : LPLUG_SPEC_PASSED, "");
    } else {
      ++*failed;
      if (options && options->on_result)
        options->on_result(options->ud, name, LPLUG_SPEC_FAILED,
                           failure(&th->sb, rc, msg, sizeof msg));
    }
    /* The hosts a test left open close now (their __gc), not when the
    ** spec ends: the 16 allowed at once were each test's to use. */
    lua_gc(th->sb.L, LUA_GCCOLLECT, 0);
  }
  rc = LPLUG_OK;
done:
  /* Closing the state runs the __gc of the hosts the spec left open. */
  sandbox_close(&th->sb);
  free(th);
  return rc;
}
