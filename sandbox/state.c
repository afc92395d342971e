/*
** state.c -- making a plugin state and calling into it.
**
** The state is made with lua_newstate and the limiting allocator (never
** luaL_newstate), and gets base, string, table, math, utf8, our coroutine
** library and os.time/clock/date/difftime.  Not: io, debug, package, the
** rest of os, dofile, loadfile, string.dump.  The functions that can run
** long are then replaced by ones that pay for their work (pattern.c,
** tablib.c, guards.c).  The sandbox pointer lives in
** the state's extra space, which Lua copies into every new thread.
**
** sandbox_pcall is the one door into plugin code: it arms the budgets,
** runs the call protected with a message handler that records the
** traceback, and classifies the result from the sandbox's own state
** (SANDBOX-NOTES 11): a plugin can raise "not enough memory" itself, or
** catch a limit error and return normally.
*/
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lplug.h"
#include "sandbox/sandbox.h"

sandbox *sandbox_of(lua_State *L) {
  return *(sandbox **)lua_getextraspace(L);
}

sandbox_failure *sandbox_failure_of(sandbox *sb) {
  /* Host memory, not the plugin's: its limit may be what was hit.  calloc
  ** leaves the three strings empty, as a call starts them. */
  if (sb->failure == NULL) sb->failure = calloc(1, sizeof *sb->failure);
  return sb->failure;
}

const char *sandbox_where(const sandbox *sb) {
  return sb->failure ? sb->failure->where : "";
}

const char *sandbox_message(const sandbox *sb) {
  return sb->failure ? sb->failure->message : "";
}

const char *sandbox_traceback(const sandbox *sb) {
  return sb->failure ? sb->failure->traceback : "";
}

static int panic(lua_State *L) {
  /* Every call into a state is protected; reaching this is a bug. */
  fprintf(stderr, "lplug: unprotected error in plugin state: %s\n",
          lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
  return 0;
}

/* Stack slots setup keeps: the registry's _LOADED, and the globals. */
#define LOADED_AT 1
#define GLOBALS_AT 2

/* Opens stock library `name` and records it in _LOADED, leaving its table
** on top.  luaL_requiref does the same but looks _LOADED up again for
** every library, and a state opens seven.  _LOADED keeps the entries it
** had: argument errors and tracebacks name C functions through it
** ("bad argument #1 to 'string.rep'"). */
static void open_lib(lua_State *L, const char *name, lua_CFunction open) {
  lua_pushcfunction(L, open);
  lua_call(L, 0, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, LOADED_AT, name);
}

/* Pops the library table on top into global `name`. */
static void set_global(lua_State *L, const char *name) {
  lua_setfield(L, GLOBALS_AT, name);
}

/* os.time, clock, date and difftime (date guarded) in a table of their
** own: the rest of os (execute, exit, getenv, remove, ...) never gets a
** name a plugin can reach. */
static void open_os_subset(lua_State *L) {
  static const char *const kept[] = {"time", "clock", "date", "difftime",
                                     NULL};
  int i;
  lua_pushcfunction(L, luaopen_os);
  lua_call(L, 0, 1);                                /* full os */
  lua_createtable(L, 0, 4);
  for (i = 0; kept[i]; i++) {
    lua_getfield(L, -2, kept[i]);
    lua_setfield(L, -2, kept[i]);
  }
  lua_remove(L, -2);                                /* full os */
  guards_open(L, LUA_OSLIBNAME);
  lua_pushvalue(L, -1);
  lua_setfield(L, LOADED_AT, LUA_OSLIBNAME);
  set_global(L, LUA_OSLIBNAME);
}

/* Each library is changed while its table is on top, before it becomes
** global: the pieces (baselib.c, pattern.c, ...) work on that table. */
static int setup(lua_State *L) {
  sandbox *sb = sandbox_of(L);
  lua_createtable(L, 0, 7);                         /* LOADED_AT */
  lua_pushvalue(L, LOADED_AT);
  lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  open_lib(L, LUA_GNAME, luaopen_base);             /* GLOBALS_AT */
  baselib_open(L);
  require_open(L);
  guards_open(L, LUA_GNAME);
  /* The string metatable's __index is this very table: strings' methods
  ** ("x"):rep(9) are the guarded ones, and dump is gone from both. */
  open_lib(L, LUA_STRLIBNAME, luaopen_string);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  pattern_open(L);
  guards_open(L, LUA_STRLIBNAME);
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  guards_open(L, "strmeta");
  lua_pop(L, 2);
  set_global(L, LUA_STRLIBNAME);
  open_lib(L, LUA_TABLIBNAME, luaopen_table);
  tablib_open(L);
  set_global(L, LUA_TABLIBNAME);
  open_lib(L, LUA_MATHLIBNAME, luaopen_math);
  guards_open(L, LUA_MATHLIBNAME);
  set_global(L, LUA_MATHLIBNAME);
  open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
  guards_open(L, LUA_UTF8LIBNAME);
  set_global(L, LUA_UTF8LIBNAME);
  open_lib(L, LUA_COLIBNAME, luaopen_coroutine);
  corolib_open(L);
  set_global(L, LUA_COLIBNAME);
  open_os_subset(L);
  lua_pushliteral(L, "plugin stopped: a limit was reached");
  sb->stop_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int msgh(lua_State *L);

/* What the last state opened took with its libraries, for the message
** of a limit too small for one (the peak of a failed one is only how far
** it got).  Atomic: states may be opened on several threads at once. */
static _Atomic(size_t) state_bytes;
#define SANDBOX_MEASURE_LIMIT (64u * 1024u * 1024u)

int sandbox_open(sandbox *sb, const sandbox_config *config, char *err,
                 size_t errsize) {
  lua_State *L;
  int status;
  memset(sb, 0, sizeof *sb);
  sb->config = *config;
  {
    int block = config->backstop > 0 ? SANDBOX_FIRST_BLOCK : SANDBOX_BLOCK;
    sb->first_block = config->instruction_limit <= 0 ? 0
                    : config->instruction_limit < block
                    ? (int)config->instruction_limit : block;
  }
  L = lua_newstate(sandbox_alloc, sb);
  if (L == NULL) {
    snprintf(err, errsize, "cannot create a Lua state: out of memory");
    return -1;
  }
  *(sandbox **)lua_getextraspace(L) = sb;
  lua_atpanic(L, panic);
  sb->L = L;
  lua_pushcfunction(L, setup);
  sb->in_call = 1;  /* the standard library must fit in the limit itself */
  /* Opening the libraries makes next to no garbage, so the collector's
  ** steps meanwhile only cost: measured, 3% of a state's instructions,
  ** and 0.7 KB of resident memory a plugin with 10,000 loaded (the peak
  ** grows by about 150 bytes: the os table the subset is copied from). */
  lua_gc(L, LUA_GCSTOP);
  status = lua_pcall(L, 0, 0, 0);
  lua_gc(L, LUA_GCRESTART);
  sb->in_call = sb->stop = 0;
  sb->refusal = SANDBOX_REFUSAL_NONE;
  if (status != LUA_OK) {
    size_t needs = atomic_load_explicit(&state_bytes, memory_order_relaxed);
    if (needs == 0 && config->memory_limit < SANDBOX_MEASURE_LIMIT) {
      sandbox probe;  /* none opened yet: measure one (an error path) */
      sandbox_config pc = *config;
      char ignored[8];
      pc.memory_limit = SANDBOX_MEASURE_LIMIT;
      if (sandbox_open(&probe, &pc, ignored, sizeof ignored) == 0) {
        needs = probe.used;
        sandbox_close(&probe);
      }
    }
    if (needs > 0)
      snprintf(err, errsize, "memory limit of %zu bytes is too small for a "
               "plugin state (the standard library alone takes %zu bytes)",
               config->memory_limit, needs);
    else
      snprintf(err, errsize, "memory limit of %zu bytes is too small for a "
               "plugin state (the standard library alone takes more than "
               "%zu bytes)", config->memory_limit, sb->peak);
    lua_close(L);
    sb->L = NULL;
    sandbox_arena_free(sb);
    return -1;
  }
  atomic_store_explicit(&state_bytes, sb->used, memory_order_relaxed);
  /* The message handler stays at stack index 1 for every call (pushing
  ** it per call, and removing it after, was a fifth of a small call). */
  lua_pushcfunction(L, msgh);
  return 0;
}

void sandbox_close(sandbox *sb) {
  if (sb->L != NULL) lua_close(sb->L);
  sb->L = NULL;
  sandbox_arena_free(sb);
  free(sb->failure);
  sb->failure = NULL;
}

/* The first Lua frame from level 1 up, as "file:line". */
static void where_of(lua_State *L, char *out, size_t n) {
  lua_Debug ar;
  int level;
  for (level = 1; lua_getstack(L, level, &ar); level++) {
    if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
      snprintf(out, n, "%s:%d", ar.short_src, ar.currentline);
      return;
    }
  }
}

/* Message handler: records where and the traceback, keeps the error
** object as it is.  Runs no plugin code (luaL_traceback reads raw). */
static int msgh(lua_State *L) {
  sandbox_failure *f = sandbox_failure_of(sandbox_of(L));
  if (f == NULL) return 1;
  if (f->where[0] == '\0') where_of(L, f->where, sizeof f->where);
  if (f->traceback[0] == '\0' &&
      sandbox_of(L)->refusal < SANDBOX_REFUSAL_SOFT) {
    luaL_traceback(L, L, NULL, 1);
    snprintf(f->traceback, sizeof f->traceback, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return 1;
}

/* Reads the error object at the top without running any of its code. */
static void read_error(sandbox *sb, lua_State *L) {
  sandbox_failure *f = sandbox_failure_of(sb);
  const char *where;
  if (f == NULL) return;
  where = f->where[0] ? f->where : "?";
  switch (lua_type(L, -1)) {
    case LUA_TSTRING:
      snprintf(f->message, sizeof f->message, "%s", lua_tostring(L, -1));
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1))
        snprintf(f->message, sizeof f->message, "%s: %lld", where,
                 (long long)lua_tointeger(L, -1));
      else
        snprintf(f->message, sizeof f->message, "%s: %.14g", where,
                 (double)lua_tonumber(L, -1));
      break;
    case LUA_TTABLE:
      lua_pushliteral(L, "message");  /* room: LUA_MINSTACK after pcall */
      if (lua_rawget(L, -2) == LUA_TSTRING) {
        snprintf(f->message, sizeof f->message, "%s: %s", where,
                 lua_tostring(L, -1));
        lua_pop(L, 1);
        break;
      }
      lua_pop(L, 1);
      /* fall through */
    default:
      snprintf(f->message, sizeof f->message,
               "%s: (error object is a %s value)", where,
               luaL_typename(L, -1));
  }
}

#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)  /* a number macro as a string literal */

/* Sets the message of a call refused before it ran. */
static void refuse_call(sandbox *sb, const char *message) {
  sandbox_failure *f = sandbox_failure_of(sb);
  if (f) snprintf(f->message, sizeof f->message, "%s", message);
}

/* A call starts with no failure recorded. */
static void clear_failure(sandbox *sb) {
  sandbox_failure *f = sb->failure;
  if (f) f->where[0] = f->message[0] = f->traceback[0] = '\0';
}

/* The end of a call that failed or was stopped: reads the error, drops
** what the call left (`left` slots: the error object, or the results of
** a stopped call that returned), gives back its memory, and says why.
** Out of line: the successful call never comes here. */
static int failed(sandbox *sb, int status, int left) {
  lua_State *L = sb->L;
  if (status != LUA_OK) read_error(sb, L);
  lua_pop(L, left);
  /* Give back what the failed call left, so the next one starts with
  ** its memory; no plugin code can run (no finalizers). */
  if (sb->stop == SANDBOX_STOP_MEM) lua_gc(L, LUA_GCCOLLECT, 0);
  if (sb->stop == SANDBOX_STOP_CPU || sb->stop == SANDBOX_STOP_TIME ||
      sb->stop == SANDBOX_STOP_BACKSTOP)
    return LPLUG_ECPU;
  if (sb->stop == SANDBOX_STOP_MEM) return LPLUG_EMEM;
  return LPLUG_ERUNTIME;
}

static int too_deep(sandbox *sb, int pushed) {
  lua_pop(sb->L, pushed);
  refuse_call(sb, "calls into plugins with a time limit nested more than "
              TEXT(WATCHDOG_DEPTH) " deep (a host callback calling into "
              "the engine again)");
  return LPLUG_ESTATE;
}

/* Runs the function and nargs arguments on top under the budgets, and
** classifies the outcome.  Needs no base index: a failed lua_pcall
** leaves exactly the error object where the function was, a stopped one
** that returned leaves its nres results, and lua_gettop per call was 7
** of 958 Ir in hook_int.  Hence nres is never LUA_MULTRET. */
static inline int run(sandbox *sb, int nargs, int nres) {
  int status;
  if (budget_begin(sb) != 0) return too_deep(sb, nargs + 1);
  status = lua_pcall(sb->L, nargs, nres, SANDBOX_MSGH);
  budget_end(sb);
  if (sb->stop || status != LUA_OK)
    return failed(sb, status, status != LUA_OK ? 1 : nres);
  return LPLUG_OK;
}

/* A host callback calling back into the plugin that called it: the
** budgets (and the deadline's running thread) belong to the outer call,
** which an inner one would reset. */
static int reentered(sandbox *sb, int pushed) {
  lua_pop(sb->L, pushed);
  refuse_call(sb, "the plugin is already running (a host callback called "
              "back into it)");
  return LPLUG_ESTATE;
}

int sandbox_pcall(sandbox *sb, lua_CFunction f, void *ud, int nres) {
  lua_State *L = sb->L;
  if (sb->in_call) return reentered(sb, 0);
  clear_failure(sb);
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, ud);
  return run(sb, 1, nres);
}

int sandbox_pcall_pushed(sandbox *sb, int nargs, int nres) {
  if (sb->in_call) return reentered(sb, nargs + 1);
  clear_failure(sb);
  return run(sb, nargs, nres);
}
