/*
** lplug_lua.c -- require "lplug": the engine for Lua 5.4 hosts.
**
** Uses only include/lplug.h and Lua's official API.  An engine is a full
** userdata; its uservalue is a table holding the host's Lua callbacks
** (config callbacks by name, event subscribers by their C record), so
** they live exactly as long as the engine.  Values cross by copy through
** the value codec: a Lua table becomes an lplug_value (a builder), a
** result becomes a fresh Lua table.  No Lua object of the host ever
** reaches a plugin state, nor the other way round.
**
** Errors: misuse raises ("bad argument #2 to 'run' (table expected...)",
** a function inside a value); what may fail at run time returns nil, the
** message and the code's name ("ECPU").  An error raised by a host
** callback cannot unwind through the engine: the callback runs under
** lua_pcall, and the first such error is raised when the engine call
** that ran it returns.
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "lplug.h"

#define ENGINE_MT "lplug.engine"
#define BOX_MT "lplug.valuebox"

typedef struct sub {          /* one host subscriber */
  struct lhost *host;
  long long id;
  struct sub *next;
} sub;

typedef struct kept {         /* an error message, kept whole: it may */
  size_t len;                 /* hold NUL bytes, as any Lua string */
  char text[];
} kept;

typedef struct lhost {
  lplug_engine *e;
  lua_State *L;               /* running the current engine call; its
                                 stack holds the engine at index 1 */
  int quiet;                  /* in __gc: callbacks do not run */
  kept *cb_error;             /* first error of a host callback */
  sub *subs;
} lhost;

typedef struct box {          /* freed by __gc if an error jumps */
  lplug_value *v;
  lplug_builder *b;
} box;


/* {====================================================== values */

static box *newbox(lua_State *L) {
  box *bx = lua_newuserdatauv(L, sizeof *bx, 0);
  bx->v = NULL;
  bx->b = NULL;
  luaL_setmetatable(L, BOX_MT);
  bx->v = lplug_value_new();
  bx->b = lplug_builder_new();
  if (bx->v == NULL || bx->b == NULL) luaL_error(L, "not enough memory");
  return bx;
}

static int box_gc(lua_State *L) {
  box *bx = luaL_checkudata(L, 1, BOX_MT);
  lplug_value_free(bx->v);
  lplug_builder_free(bx->b);
  bx->v = NULL;
  bx->b = NULL;
  return 0;
}

/* Why a value of Lua type t cannot cross: static strings, since build
** leaves nothing of its own on the stack. */
static const char *cannot_cross(int t) {
  switch (t) {
    case LUA_TFUNCTION: return "a function cannot cross into a plugin";
    case LUA_TTHREAD: return "a thread cannot cross into a plugin";
    default: return "a userdata cannot cross into a plugin";
  }
}

/* Writes the Lua value at idx into b; returns NULL or why it cannot
** cross (tables nest at most LPLUG_MAX_DEPTH levels, which also ends a
** cycle).  The stack is as it was either way. */
static const char *build(lua_State *L, int idx, lplug_builder *b, int depth) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL: lplug_build_nil(b); return NULL;
    case LUA_TBOOLEAN: lplug_build_boolean(b, lua_toboolean(L, idx)); return NULL;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) lplug_build_integer(b, lua_tointeger(L, idx));
      else lplug_build_float(b, lua_tonumber(L, idx));
      return NULL;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      lplug_build_string(b, s, len);
      return NULL;
    }
    case LUA_TTABLE: {
      const char *err = NULL;
      if (depth >= LPLUG_MAX_DEPTH) return "tables nested too deep (or a cycle)";
      luaL_checkstack(L, 3, "value too deep");
      idx = lua_absindex(L, idx);
      lplug_build_table(b);
      lua_pushnil(L);
      while (err == NULL && lua_next(L, idx)) {
        int kt = lua_type(L, -2);
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
          err = "a table key that is not a string, number or boolean";
        else if ((err = build(L, -2, b, depth + 1)) == NULL)
          err = build(L, -1, b, depth + 1);
        lua_pop(L, 1);   /* value; keep key */
      }
      if (err != NULL) lua_pop(L, 1);   /* key */
      lplug_build_end(b);
      return err;
    }
    default:
      return cannot_cross(lua_type(L, idx));
  }
}

/* Copies the Lua value at arg into bx->v; raises on misuse. */
static void tovalue(lua_State *L, int arg, box *bx) {
  const char *err = build(L, arg, bx->b, 0);
  int rc = lplug_builder_finish(bx->b, bx->v);   /* also resets on error */
  if (err != NULL) luaL_argerror(L, arg, err);
  if (rc == LPLUG_ENOMEM) luaL_error(L, "not enough memory");
  if (rc != LPLUG_OK) luaL_argerror(L, arg, "value cannot cross (NaN key?)");
}

/* Pushes a Lua copy of the value at position `at` of v. */
static void pushvalue(lua_State *L, const lplug_value *v, size_t at) {
  luaL_checkstack(L, 4, "value too deep");
  switch (lplug_value_type(v, at)) {
    case LPLUG_TBOOLEAN: lua_pushboolean(L, lplug_value_boolean(v, at)); break;
    case LPLUG_TINTEGER: lua_pushinteger(L, lplug_value_integer(v, at, NULL)); break;
    case LPLUG_TFLOAT: lua_pushnumber(L, lplug_value_float(v, at, NULL)); break;
    case LPLUG_TSTRING: {
      size_t len;
      const char *s = lplug_value_string(v, at, &len);
      lua_pushlstring(L, s, len);
      break;
    }
    case LPLUG_TTABLE: {
      size_t iter = 0, k, val;
      lua_createtable(L, 0, (int)lplug_value_count(v, at));
      while (lplug_value_next(v, at, &iter, &k, &val)) {
        pushvalue(L, v, k);
        pushvalue(L, v, val);
        lua_rawset(L, -3);
      }
      break;
    }
    default: lua_pushnil(L); break;
  }
}

/* }====================================================== */


/* {====================================================== host callbacks */

static void keep_error(lhost *h, const char *msg, size_t len) {
  if (h->cb_error == NULL &&
      (h->cb_error = malloc(sizeof *h->cb_error + len)) != NULL) {
    h->cb_error->len = len;
    memcpy(h->cb_error->text, msg, len);
  }
}

/* One call of a host callback.  Everything it needs from Lua (finding
** the function, pushing its arguments, which may raise for memory or stack)
** happens inside trampoline, under lua_pcall: no Lua error may unwind
** through the engine's C frames. */
typedef struct cbcall {
  const char *name;            /* the callback by name in the table, */
  const void *key;             /* or by its subscriber (light userdata) */
  const char *args[4];         /* NULL pushes nil */
  int nargs;
  const lplug_value *payload;  /* on_event: the second argument */
} cbcall;

/* Arguments: the cbcall, the engine (its uservalue holds the callbacks). */
static int trampoline(lua_State *L) {
  cbcall *c = lua_touserdata(L, 1);
  int i;
  lua_getiuservalue(L, 2, 1);
  if (c->name != NULL) lua_getfield(L, -1, c->name);
  else lua_rawgetp(L, -1, c->key);
  if (!lua_isfunction(L, -1)) return 0;   /* not set (any more) */
  luaL_checkstack(L, c->nargs + 4, "host callback");
  for (i = 0; i < c->nargs; i++) {
    if (c->payload != NULL && i == 1) pushvalue(L, c->payload, 0);
    else if (c->args[i] != NULL) lua_pushstring(L, c->args[i]);
    else lua_pushnil(L);
  }
  lua_call(L, c->nargs, 1);
  return 1;
}

/* Runs c in the state running the engine call; keeps an error for later.
** Returns whether the callback ran and returned a true value. */
static int callback(lhost *h, cbcall *c) {
  lua_State *L = h->L;
  int yes;
  if (L == NULL || h->quiet || !lua_checkstack(L, 4)) return 0;
  lua_pushcfunction(L, trampoline);
  lua_pushlightuserdata(L, c);
  lua_pushvalue(L, 1);   /* the engine: index 1 of every engine call */
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    if (msg == NULL) {
      msg = "error in a host callback";
      len = strlen(msg);
    }
    keep_error(h, msg, len);
    lua_pop(L, 1);
    return 0;
  }
  yes = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return yes;
}

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  cbcall c = {"on_error", NULL, {NULL, NULL, NULL, NULL}, 4, NULL};
  c.args[0] = plugin;
  c.args[1] = lplug_errname(code);
  c.args[2] = message;
  c.args[3] = traceback;
  callback(ud, &c);
}

static void on_log(void *ud, int level, const char *plugin, const char *msg) {
  static const char *const levels[] = {"debug", "info", "warn", "error"};
  cbcall c = {"on_log", NULL, {NULL, NULL, NULL, NULL}, 3, NULL};
  c.args[0] = level >= 0 && level <= 3 ? levels[level] : "?";
  c.args[1] = plugin;   /* nil for the engine's own */
  c.args[2] = msg;
  callback(ud, &c);
}

static void on_state(void *ud, const char *plugin, int from, int to,
                     const char *reason) {
  cbcall c = {"on_state", NULL, {NULL, NULL, NULL, NULL}, 4, NULL};
  c.args[0] = plugin;
  c.args[1] = from == 0 ? NULL : lplug_state_name(from);
  c.args[2] = lplug_state_name(to);
  c.args[3] = reason;
  callback(ud, &c);
}

/* Refuses when unsure: no callback, an error, a false result. */
static int on_grant(void *ud, const char *plugin, const char *capability,
                    const char *item) {
  cbcall c = {"grant", NULL, {NULL, NULL, NULL, NULL}, 3, NULL};
  c.args[0] = plugin;
  c.args[1] = capability;
  c.args[2] = item;
  return callback(ud, &c);
}

static void on_event(void *ud, const char *topic, const lplug_value *payload,
                     const char *source) {
  sub *s = ud;
  cbcall c = {NULL, NULL, {NULL, NULL, NULL, NULL}, 3, NULL};
  c.key = s;
  c.args[0] = topic;
  c.payload = payload;
  c.args[2] = source;   /* nil for the host */
  callback(s->host, &c);
}

/* }====================================================== */


/* {====================================================== engine methods */

/* A name, topic, pattern or folder for the C API, which reads it up to
** its first NUL: "a\0b" would name plugin "a".  Refused instead, as
** argument `arg`; the string is at `idx`. */
static const char *nulfree(lua_State *L, int idx, int arg) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  luaL_argcheck(L, strlen(s) == len, arg, "string contains a NUL byte");
  return s;
}

static const char *checkname(lua_State *L, int arg) {
  luaL_checkstring(L, arg);
  return nulfree(L, arg, arg);
}

static lhost *checkhost(lua_State *L) {
  lhost *h = luaL_checkudata(L, 1, ENGINE_MT);
  if (h->e == NULL) luaL_error(L, "attempt to use a closed lplug engine");
  return h;
}

/* Every engine call sits between enter and leave: callbacks find the
** running state, and a callback's error is raised once the engine is
** out of the way.  Each call raises the errors of the callbacks it ran,
** not those of an enclosing call (a callback calling the engine would
** be raised, and could swallow, another callback's error); the
** enclosing call's is kept for it meanwhile. */
#define ENTER(h, L) lua_State *saved_ = (h)->L; \
  kept *outer_ = (h)->cb_error; (h)->L = (L); (h)->cb_error = NULL
static int push_message(lua_State *L) {
  const kept *k = lua_touserdata(L, 1);
  lua_pushlstring(L, k->text, k->len);
  return 1;
}

/* The kept message is pushed under lua_pcall: a state with no room for
** it raises its memory error instead, and the copy is freed either way
** (pushed unprotected, it leaked when the push raised). */
static void leave(lhost *h, lua_State *L, lua_State *saved, kept *outer) {
  kept *mine = h->cb_error;
  h->L = saved;
  h->cb_error = outer;
  if (mine != NULL) {
    if (!lua_checkstack(L, 2)) {
      free(mine);
      luaL_error(L, "error in a host callback (no stack left for it)");
    }
    lua_pushcfunction(L, push_message);
    lua_pushlightuserdata(L, mine);
    lua_pcall(L, 1, 1, 0);       /* the message, or the memory error */
    free(mine);
    lua_error(L);
  }
}
#define LEAVE(h, L) leave((h), (L), saved_, outer_)

/* true, or nil, message, code name */
static int result(lua_State *L, lhost *h, int rc) {
  if (rc >= 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushnil(L);
  lua_pushstring(L, *lplug_errmsg(h->e) ? lplug_errmsg(h->e)
                                        : lplug_strerror(rc));
  lua_pushstring(L, lplug_errname(rc));
  return 3;
}

/* nil, "no plugin 'name' is loaded", "ENOTFOUND" */
static int noplugin(lua_State *L, const char *name) {
  lua_pushnil(L);
  lua_pushfstring(L, "no plugin '%s' is loaded", name);
  lua_pushstring(L, lplug_errname(LPLUG_ENOTFOUND));
  return 3;
}

static int e_define(lua_State *L) {
  lhost *h = checkhost(L);
  const char *name = checkname(L, 2);
  int flags = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_getfield(L, 3, "fail_closed");
    if (lua_toboolean(L, -1)) flags |= LPLUG_HOOK_FAIL_CLOSED;
  }
  return result(L, h, lplug_hook_define(h->e, name, flags, NULL));
}

static int e_load(lua_State *L) {
  lhost *h = checkhost(L);
  const char *dir = checkname(L, 2);
  int rc;
  ENTER(h, L);
  rc = lplug_load_plugin(h->e, dir);
  LEAVE(h, L);
  return result(L, h, rc);
}

/* e:load_dirs(dir, ...) or e:load_dirs{dir, ...}: one set. */
static int e_load_dirs(lua_State *L) {
  lhost *h = checkhost(L);
  int i, rc, list = lua_istable(L, 2);
  int n = list ? (int)luaL_len(L, 2) : lua_gettop(L) - 1;
  const char **dirs;
  luaL_argcheck(L, n > 0 && n < 1000, 2, "one to 999 folders expected");
  luaL_checkstack(L, n + 2, "too many folders");
  dirs = lua_newuserdatauv(L, sizeof *dirs * (size_t)n, 0);
  for (i = 0; i < n; i++) {
    if (list) {
      lua_geti(L, 2, i + 1);   /* stays on the stack: anchors the string */
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, 2, "folder names are strings");
      dirs[i] = nulfree(L, -1, 2);
    } else {
      dirs[i] = checkname(L, i + 2);
    }
  }
  ENTER(h, L);
  rc = lplug_load_dirs(h->e, dirs, n);
  LEAVE(h, L);
  return result(L, h, rc);
}

/* e:run(hook, value) -> the result (a copy), or nil, message, code.  A
** result may itself be nil or false: check the second value. */
static int e_run(lua_State *L) {
  lhost *h = checkhost(L);
  const char *name = checkname(L, 2);
  box *bx;
  int rc;
  lua_settop(L, 3);
  bx = newbox(L);
  tovalue(L, 3, bx);
  ENTER(h, L);
  rc = lplug_hook_run(h->e, name, bx->v);
  LEAVE(h, L);
  if (rc != LPLUG_OK) return result(L, h, rc);
  pushvalue(L, bx->v, 0);
  return 1;
}

static int e_emit(lua_State *L) {
  lhost *h = checkhost(L);
  const char *topic = checkname(L, 2);
  box *bx;
  int rc;
  lua_settop(L, 3);
  bx = newbox(L);
  tovalue(L, 3, bx);
  rc = lplug_event_emit(h->e, topic, bx->v);
  return result(L, h, rc);
}

/* e:subscribe(pattern, fn) -> id; fn(topic, payload, source) where
** source is the emitting plugin's name, nil for the host. */
static int e_subscribe(lua_State *L) {
  lhost *h = checkhost(L);
  const char *pattern = checkname(L, 2);
  sub *s;
  luaL_checktype(L, 3, LUA_TFUNCTION);
  if ((s = malloc(sizeof *s)) == NULL) return luaL_error(L, "not enough memory");
  s->host = h;
  s->id = lplug_event_subscribe(h->e, pattern, on_event, s);
  if (s->id < 0) {
    int rc = (int)s->id;
    free(s);
    return result(L, h, rc);
  }
  s->next = h->subs;
  h->subs = s;
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 3);
  lua_rawsetp(L, -2, s);   /* callbacks[s] = fn */
  lua_pushinteger(L, (lua_Integer)s->id);
  return 1;
}

static int e_unsubscribe(lua_State *L) {
  lhost *h = checkhost(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  sub **p;
  for (p = &h->subs; *p != NULL; p = &(*p)->next) {
    if ((*p)->id == id) {
      sub *s = *p;
      int rc = lplug_event_unsubscribe(h->e, id);
      *p = s->next;
      lua_getiuservalue(L, 1, 1);
      lua_pushnil(L);
      lua_rawsetp(L, -2, s);
      free(s);
      return result(L, h, rc);
    }
  }
  lua_pushnil(L);
  lua_pushfstring(L, "no subscription %I", id);
  lua_pushstring(L, lplug_errname(LPLUG_ENOTFOUND));
  return 3;
}

/* e:dispatch([max]) -> number of events delivered */
static int e_dispatch(lua_State *L) {
  lhost *h = checkhost(L);
  lua_Integer max = luaL_optinteger(L, 2, 0);
  int n;
  luaL_argcheck(L, max >= 0 && max <= INT_MAX, 2, "0 (all) or a count "
                "expected");
  ENTER(h, L);
  n = lplug_dispatch(h->e, (int)max);
  LEAVE(h, L);
  lua_pushinteger(L, n);
  return 1;
}

static int e_pending(lua_State *L) {
  lua_pushinteger(L, lplug_event_pending(checkhost(L)->e));
  return 1;
}

/* e:plugins() -> {name, ...} in load order */
static int e_plugins(lua_State *L) {
  lhost *h = checkhost(L);
  int i, n = lplug_plugin_count(h->e);
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, lplug_plugin_name(h->e, i));
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* e:hooks() -> {name = number of handlers, ...} */
static int e_hooks(lua_State *L) {
  lhost *h = checkhost(L);
  int i, n = lplug_hook_count(h->e);
  lua_createtable(L, 0, n);
  for (i = 0; i < n; i++) {
    lplug_hook *hk = lplug_hook_at(h->e, i);
    lua_pushinteger(L, lplug_hook_handlers(hk));
    lua_setfield(L, -2, lplug_hook_name(hk));
  }
  return 1;
}

static int e_stats(lua_State *L) {
  lhost *h = checkhost(L);
  lplug_stats st;
  const char *name = checkname(L, 2);
  if (lplug_plugin_stats(h->e, name, &st) != LPLUG_OK) return noplugin(L, name);
  lua_createtable(L, 0, 16);
#define F(name, x) (lua_pushinteger(L, (lua_Integer)(x)), lua_setfield(L, -2, name))
  F("calls", st.calls); F("errors", st.errors);
  F("runtime_errors", st.runtime_errors); F("cpu_errors", st.cpu_errors);
  F("memory_errors", st.memory_errors); F("value_errors", st.value_errors);
  F("denials", st.denials); F("instructions", st.instructions);
  F("instruction_limit", st.instruction_limit); F("time_limit", st.time_limit);
  F("backstop", st.backstop);
  F("memory", st.memory); F("memory_peak", st.memory_peak);
  F("memory_limit", st.memory_limit); F("storage_bytes", st.storage_bytes);
  F("storage_quota", st.storage_quota);
#undef F
  return 1;
}

/* e:state(name) -> "active", "disabled", ... */
static int e_state(lua_State *L) {
  lhost *h = checkhost(L);
  const char *name = checkname(L, 2);
  int st = lplug_plugin_state(h->e, name);
  if (st < 0) return noplugin(L, name);
  lua_pushstring(L, lplug_state_name(st));
  return 1;
}

/* enable, disable, unload, reload: by plugin name, plugin code may run */
static int byname(lua_State *L, int (*fn)(lplug_engine *, const char *)) {
  lhost *h = checkhost(L);
  const char *name = checkname(L, 2);
  int rc;
  ENTER(h, L);
  rc = fn(h->e, name);
  LEAVE(h, L);
  return result(L, h, rc);
}
static int e_enable(lua_State *L) { return byname(L, lplug_plugin_enable); }
static int e_disable(lua_State *L) { return byname(L, lplug_plugin_disable); }
static int e_unload(lua_State *L) { return byname(L, lplug_plugin_unload); }
static int e_reload(lua_State *L) { return byname(L, lplug_reload); }

/* e:configure(plugin, {key = value, ...} or nil) before it loads */
static int e_configure(lua_State *L) {
  lhost *h = checkhost(L);
  const char *name = checkname(L, 2);
  box *bx;
  lua_settop(L, 3);
  bx = newbox(L);
  tovalue(L, 3, bx);
  return result(L, h, lplug_plugin_configure(h->e, name, bx->v));
}

static int e_flush(lua_State *L) {
  lhost *h = checkhost(L);
  return result(L, h, lplug_storage_flush(h->e));
}

/* Frees the engine (plugins' shutdown callbacks run); later calls raise,
** and so do calls from those callbacks.  Not from inside a callback of
** this engine: the engine is running below it.  From __gc the host's
** callbacks no longer run (and no call can be running: it would hold the
** engine). */
static int closehost(lua_State *L, int quiet) {
  lhost *h = luaL_checkudata(L, 1, ENGINE_MT);
  if (h->e != NULL && h->L != NULL)
    return luaL_error(L, "cannot close an lplug engine from inside its own "
                      "callbacks (close it once the engine call returns)");
  if (h->e != NULL) {
    lplug_engine *e = h->e;
    ENTER(h, L);
    h->quiet = quiet;
    h->e = NULL;
    lplug_engine_free(e);
    while (h->subs != NULL) {
      sub *s = h->subs;
      h->subs = s->next;
      free(s);
    }
    if (quiet) {
      free(h->cb_error);
      h->cb_error = NULL;
    }
    LEAVE(h, L);
  }
  return 0;
}
static int e_close(lua_State *L) { return closehost(L, 0); }
static int e_gc(lua_State *L) { return closehost(L, 1); }

static int e_tostring(lua_State *L) {
  lhost *h = luaL_checkudata(L, 1, ENGINE_MT);
  if (h->e == NULL) lua_pushliteral(L, "lplug engine (closed)");
  else lua_pushfstring(L, "lplug engine (%p)", (void *)h->e);
  return 1;
}

/* }====================================================== */


/* {====================================================== lplug.new */

/* Option `name`, an integer from min to max; 0 when absent. */
static lua_Integer optfield(lua_State *L, const char *name, lua_Integer min,
                            lua_Integer max) {
  lua_Integer x;
  int isnum;
  lua_getfield(L, 1, name);
  x = lua_tointegerx(L, -1, &isnum);
  if (!isnum && !lua_isnil(L, -1))
    luaL_error(L, "bad option '%s' to 'new' (integer expected, got %s)",
               name, luaL_typename(L, -1));
  if (isnum && (x < min || x > max))
    luaL_error(L, "bad option '%s' to 'new' (%I is out of range)", name, x);
  lua_pop(L, 1);
  return isnum ? x : 0;
}

#define OPT_INT(L, name) ((int)optfield((L), (name), INT_MIN, INT_MAX))
#define OPT_SIZE(L, name) \
  ((size_t)optfield((L), (name), 0, LUA_MAXINTEGER))

/* Stores option `name` in the callbacks table at the top if it is a
** function; returns whether it was. */
static int optcallback(lua_State *L, const char *name) {
  int t = lua_getfield(L, 1, name);
  if (t != LUA_TNIL && t != LUA_TFUNCTION)
    luaL_error(L, "bad option '%s' to 'new' (function expected, got %s)",
               name, luaL_typename(L, -1));
  lua_setfield(L, -2, name);
  return t == LUA_TFUNCTION;
}

/* lplug.new([options]) -> engine, or nil, message, code */
static int l_new(lua_State *L) {
  lplug_config c;
  lhost *h;
  memset(&c, 0, sizeof c);
  if (lua_isnoneornil(L, 1)) lua_newtable(L);
  else luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  c.memory_limit = OPT_SIZE(L, "memory_limit");
  c.instruction_limit = optfield(L, "instruction_limit", LUA_MININTEGER,
                                 LUA_MAXINTEGER);
  c.time_limit = optfield(L, "time_limit", LUA_MININTEGER, LUA_MAXINTEGER);
  c.event_queue = OPT_INT(L, "event_queue");
  c.event_queue_bytes = OPT_SIZE(L, "event_queue_bytes");
  c.storage_quota = OPT_SIZE(L, "storage_quota");
  c.storage_batch_ms = OPT_INT(L, "storage_batch_ms");
  c.failure_limit = OPT_INT(L, "failure_limit");
  /* The engine copies the path; it is kept at index 2 until then. */
  if (lua_getfield(L, 1, "storage_path") != LUA_TSTRING &&
      !lua_isnil(L, -1))
    return luaL_error(L, "bad option 'storage_path' to 'new' (string "
                      "expected, got %s)", luaL_typename(L, -1));
  c.storage_path = lua_tostring(L, -1);
  if (c.storage_path != NULL && strlen(c.storage_path) != lua_rawlen(L, -1))
    return luaL_error(L, "bad option 'storage_path' to 'new' (string "
                      "contains a NUL byte)");

  h = lua_newuserdatauv(L, sizeof *h, 1);   /* index 3 */
  memset(h, 0, sizeof *h);
  lua_newtable(L);                          /* the callbacks */
  if (optcallback(L, "on_error")) c.on_error = on_error;
  if (optcallback(L, "on_log")) c.on_log = on_log;
  if (optcallback(L, "on_state")) c.on_state = on_state;
  lua_getfield(L, 1, "grant");
  if (lua_isfunction(L, -1)) {
    c.grant = on_grant;
    lua_setfield(L, -2, "grant");
  } else if (lua_type(L, -1) == LUA_TSTRING &&
             strcmp(lua_tostring(L, -1), "declared") == 0) {
    c.grant = lplug_grant_declared;
    lua_pop(L, 1);
  } else if (!lua_isnil(L, -1)) {
    return luaL_error(L, "bad option 'grant' to 'new' (a function or "
                      "\"declared\" expected)");
  } else {
    lua_pop(L, 1);
  }
  lua_setiuservalue(L, 3, 1);
  luaL_setmetatable(L, ENGINE_MT);
  c.ud = h;
  if ((h->e = lplug_engine_new(&c)) == NULL) {
    lua_pushnil(L);
    lua_pushliteral(L, "out of memory in the host");
    lua_pushliteral(L, "ENOMEM");
    return 3;
  }
  return 1;
}

static int l_strerror(lua_State *L) {
  lua_pushstring(L, lplug_strerror((int)luaL_checkinteger(L, 1)));
  return 1;
}

static const luaL_Reg engine_methods[] = {
  {"define", e_define}, {"load", e_load}, {"load_dirs", e_load_dirs},
  {"run", e_run}, {"emit", e_emit}, {"subscribe", e_subscribe},
  {"unsubscribe", e_unsubscribe}, {"dispatch", e_dispatch},
  {"pending", e_pending}, {"plugins", e_plugins}, {"hooks", e_hooks},
  {"stats", e_stats}, {"state", e_state}, {"enable", e_enable},
  {"disable", e_disable}, {"unload", e_unload}, {"reload", e_reload},
  {"configure", e_configure}, {"flush", e_flush}, {"close", e_close},
  {NULL, NULL}
};

static const luaL_Reg engine_meta[] = {
  {"__gc", e_gc}, {"__close", e_close}, {"__tostring", e_tostring},
  {"__index", NULL}, {NULL, NULL}
};

static const luaL_Reg funcs[] = {
  {"new", l_new}, {"strerror", l_strerror}, {NULL, NULL}
};

int luaopen_lplug(lua_State *L);

int luaopen_lplug(lua_State *L) {
  luaL_newmetatable(L, ENGINE_MT);
  luaL_setfuncs(L, engine_meta, 0);
  luaL_newlib(L, engine_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, BOX_MT);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushstring(L, lplug_version());
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, lplug_version_number());
  lua_setfield(L, -2, "version_number");
  return 1;
}

/* }====================================================== */
