/*
** test.c -- the lplug.test module: a host for one plugin, in a spec.
**
**   local test = require "lplug.test"
**   local h = test.load{ config = { every = 2 } }  -- the plugin under test
**   local out = h:record("a@b.cc said hi")          -- through hook 'record'
**   assert.equals("<email> said hi", out.line)
**
** Each host is an engine of its own (public API only), with the options
** kept as a value so that h:restart() can build the same engine again
** over the same storage file.  What the engine reports (failures, log
** lines, events) is captured in C lists the spec reads back as tables.
** Only the test host's require offers this module (engine/testhost.c);
** plugins never see it.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <sqlite3.h>

#include "lplug.h"
#include "engine/caps.h"
#include "engine/internal.h"
#include "engine/manifest.h"
#include "engine/testhost.h"
#include "engine/value.h"
#include "engine/value_lua.h"
#include "sandbox/sandbox.h"

#define HOST_MT "lplug.test.host"
#define MAX_ENTRIES 10000      /* per list; later ones are only counted */
#define MAX_OPTIONS (256 * 1024)
#define MAX_DISPATCH_ROUNDS 100
/* What the spec's budget pays for work done in C: a test host is a whole
** engine and a plugin load (about 200 us), a call into one runs the
** plugin in its own engine, under its own limits.  Without these a spec
** looping over test.load() ran for tens of minutes on a 100M budget. */
#define LOAD_INSTRUCTIONS 100000
#define HOST_CALL_INSTRUCTIONS 1000

/* One thing the engine said: an event (text = topic), a log line (num =
** level) or a failure (num = code). */
typedef struct entry {
  char *plugin;
  char *text;
  int num;
  lplug_value *payload;
} entry;

typedef struct list {
  entry *items;
  size_t n, cap;
} list;

typedef struct host {
  lplug_engine *e;
  testhost *th;
  lplug_value *opts;         /* the options given to test.load */
  lplug_value *config;       /* options.config, or NULL */
  lplug_value *scratch;      /* values on their way in and out: owned
                                here, so a raised error cannot leak them */
  char name[65];             /* the plugin under test */
  char db[PATH_MAX];         /* its storage file; "" once removed */
  long long n;               /* records run since the engine started */
  list events, logs, errors;
  list rows;                 /* h:storage's reading, until the next */
} host;

static void list_clear(list *l) {
  size_t i;
  for (i = 0; i < l->n; i++) {
    free(l->items[i].plugin);
    free(l->items[i].text);
    lplug_value_free(l->items[i].payload);
  }
  free(l->items);
  memset(l, 0, sizeof *l);
}

/* Appends one entry (copies everything; text is tlen bytes, NULs
** included); a host out of memory or past MAX_ENTRIES keeps what it has. */
static void list_add_n(list *l, const char *who, const char *text,
                       size_t tlen, int num, const lplug_value *payload) {
  entry *x;
  if (l->n == MAX_ENTRIES) return;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    entry *more = realloc(l->items, cap * sizeof *more);
    if (more == NULL) return;
    l->items = more;
    l->cap = cap;
  }
  x = &l->items[l->n];
  x->plugin = who ? strdup(who) : NULL;
  x->text = malloc(tlen + 1);
  if (x->text) {
    if (tlen) memcpy(x->text, text, tlen);
    x->text[tlen] = '\0';
  }
  x->num = num;
  x->payload = payload ? lplug_value_copy(payload) : NULL;
  if (x->text == NULL || (who && x->plugin == NULL) ||
      (payload && x->payload == NULL)) {
    free(x->plugin);
    free(x->text);
    lplug_value_free(x->payload);
    return;
  }
  l->n++;
}

static void list_add(list *l, const char *who, const char *text, int num,
                     const lplug_value *payload) {
  list_add_n(l, who, text ? text : "", text ? strlen(text) : 0, num, payload);
}

static void on_error(void *ud, const char *who, int code,
                     const char *message, const char *traceback) {
  host *h = ud;
  (void)traceback;
  list_add(&h->errors, who, message, code, NULL);
}

static void on_log(void *ud, int level, const char *who,
                   const char *message) {
  host *h = ud;
  list_add(&h->logs, who ? who : "lplug", message, level, NULL);
}

static void on_event(void *ud, const char *topic, const lplug_value *payload,
                     const char *source) {
  host *h = ud;
  list_add(&h->events, source, topic, 0, payload);
}

/* Grants the plugin under test what options.grants gives (the shape of a
** manifest's capabilities), or what it declares when there is none; the
** plugins loaded `with` it get what they declare. */
static int grant(void *ud, const char *who, const char *capability,
                 const char *item) {
  host *h = ud;
  size_t at;
  if (strcmp(who, h->name) != 0 ||
      !lplug_value_field(h->opts, 0, "grants", &at))
    return 1;
  return caps_allows(h->opts, at, capability, item);
}

/* The string option `key` of the options (NULL when absent). */
static const char *opt_string(const host *h, const char *key) {
  size_t at;
  if (!lplug_value_field(h->opts, 0, key, &at)) return NULL;
  return lplug_value_string(h->opts, at, NULL);
}

static long long opt_integer(const host *h, const char *key) {
  size_t at;
  int ok;
  long long x;
  if (!lplug_value_field(h->opts, 0, key, &at)) return 0;
  x = lplug_value_integer(h->opts, at, &ok);
  return ok && x > 0 ? x : 0;
}

/* dir, relative to the plugin under test's folder, into out. */
static int folder(const host *h, const char *dir, char *out, size_t n) {
  if (dir[0] == '/') return snprintf(out, n, "%s", dir) < (int)n;
  return snprintf(out, n, "%s/%s", h->th->dir, dir) < (int)n;
}

/* Reads the manifest of the plugin in folder dir (its name into h->name);
** NULL with a message pushed when it does not parse. */
static manifest *read_manifest(lua_State *L, host *h, const char *dir) {
  char path[PATH_MAX + 16], err[1024];
  manifest *m;
  snprintf(path, sizeof path, "%s/plugin.yaml", dir);
  if (manifest_load(path, &m, err, sizeof err, NULL, NULL) != LPLUG_OK) {
    lua_pushfstring(L, "test.load: %s", err);
    return NULL;
  }
  snprintf(h->name, sizeof h->name, "%s", m->name);
  return m;
}

/* Defines the hook points options.hooks lists, or else those the
** manifest declares (record when it declares none, or "*"). */
static int define_hooks(lua_State *L, host *h, const manifest *m, int flags) {
  const lplug_value *names = h->opts;
  size_t at, x;
  long long i;
  int defined = 0;
  if (!lplug_value_field(h->opts, 0, "hooks", &at)) {
    names = m->capabilities;
    if (!lplug_value_field(names, 0, "hooks", &at)) at = (size_t)-1;
  }
  for (i = 1; at != (size_t)-1 && lplug_value_index(names, at, i, &x); i++) {
    const char *name = lplug_value_string(names, x, NULL);
    if (name == NULL || strcmp(name, "*") == 0) continue;
    if (lplug_hook_define(h->e, name, flags, NULL) == LPLUG_EINVAL)
      return lua_pushfstring(L, "test.load: hooks: %s", lplug_errmsg(h->e)), 0;
    defined++;
  }
  if (defined == 0) lplug_hook_define(h->e, "record", flags, NULL);
  return 1;
}

/* Loads plugin folder dir into h's engine.  Its plugin runs its main file
** under its own limits: the time is not the spec's (the spec's backstop
** does not count it). */
static int load_into(lua_State *L, host *h, const char *dir) {
  sandbox *sb = sandbox_of(L);
  long long began = budget_host_begin(sb);
  int rc = lplug_load_plugin(h->e, dir);
  budget_host_end(sb, began);
  return rc;
}

/* Makes the engine from h->opts: hook points, configuration, the
** plugins `with` it, then the plugin under test.  Returns 1, or 0 with a
** message pushed. */
static int start(lua_State *L, host *h) {
  lplug_config config;
  char dir[PATH_MAX];
  const char *self = opt_string(h, "dir");
  size_t at, x;
  long long i;
  int flags = 0, ok;
  manifest *m;
  memset(&config, 0, sizeof config);
  config.memory_limit = (size_t)opt_integer(h, "memory");
  config.instruction_limit = opt_integer(h, "instructions");
  config.storage_path = h->db;
  config.on_error = on_error;
  config.on_log = on_log;
  config.grant = grant;
  config.ud = h;
  if (!folder(h, self ? self : ".", dir, sizeof dir))
    return lua_pushliteral(L, "test.load: the plugin folder's path is too "
                           "long"), 0;
  if ((m = read_manifest(L, h, dir)) == NULL) return 0;
  h->e = lplug_engine_new(&config);
  if (h->e == NULL) {
    manifest_free(m);
    return lua_pushliteral(L, "test.load: out of memory"), 0;
  }
  h->n = 0;
  lplug_event_subscribe(h->e, "*", on_event, h);
  if (lplug_value_field(h->opts, 0, "fail_closed", &at) &&
      lplug_value_boolean(h->opts, at))
    flags = LPLUG_HOOK_FAIL_CLOSED;
  ok = define_hooks(L, h, m, flags);
  manifest_free(m);
  if (!ok) return 0;
  if (h->config != NULL &&
      lplug_plugin_configure(h->e, h->name, h->config) != LPLUG_OK)
    return lua_pushfstring(L, "test.load: config: %s", lplug_errmsg(h->e)), 0;
  if (lplug_value_field(h->opts, 0, "with", &at)) {
    for (i = 1; lplug_value_index(h->opts, at, i, &x); i++) {
      const char *d = lplug_value_string(h->opts, x, NULL);
      char other[PATH_MAX];
      if (d == NULL || !folder(h, d, other, sizeof other)) continue;
      if (load_into(L, h, other) != LPLUG_OK)
        return lua_pushfstring(L, "test.load: with '%s': %s", d,
                               lplug_errmsg(h->e)), 0;
    }
  }
  if (load_into(L, h, dir) != LPLUG_OK)
    return lua_pushfstring(L, "test.load: %s", lplug_errmsg(h->e)), 0;
  return 1;
}

/* Delivers events until none are left (events may beget events, but
** not forever). */
static void pump(host *h) {
  int i;
  for (i = 0; i < MAX_DISPATCH_ROUNDS && lplug_event_pending(h->e) > 0; i++)
    lplug_dispatch(h->e, 0);
}

/* Runs hook `name` of h over h->scratch, then what it emitted: the
** plugins' time, under their own limits, not the spec's. */
static int run_hook(lua_State *L, host *h, const char *name) {
  sandbox *sb = sandbox_of(L);
  long long began = budget_host_begin(sb);
  int rc = lplug_hook_run(h->e, name, h->scratch);
  if (rc != LPLUG_ENOTFOUND) pump(h);
  budget_host_end(sb, began);
  return rc;
}

static void stop(host *h) {
  if (h->e == NULL) return;
  lplug_engine_free(h->e);
  h->e = NULL;
  h->th->engines--;
}

static void remove_db(host *h) {
  char path[PATH_MAX + 8];
  if (h->db[0] == '\0') return;
  unlink(h->db);
  snprintf(path, sizeof path, "%s-wal", h->db);
  unlink(path);
  snprintf(path, sizeof path, "%s-shm", h->db);
  unlink(path);
  h->db[0] = '\0';
}

static int host_close(lua_State *L) {
  host *h = luaL_checkudata(L, 1, HOST_MT);
  stop(h);
  remove_db(h);
  list_clear(&h->events);
  list_clear(&h->logs);
  list_clear(&h->errors);
  list_clear(&h->rows);
  lplug_value_free(h->opts);
  lplug_value_free(h->config);
  lplug_value_free(h->scratch);
  h->opts = h->config = h->scratch = NULL;
  return 0;
}

static host *check_host(lua_State *L) {
  host *h = luaL_checkudata(L, 1, HOST_MT);
  if (h->e == NULL)
    luaL_error(L, "this test host is closed (test.load makes a new one)");
  budget_charge(L, HOST_CALL_INSTRUCTIONS);
  return h;
}

/* The options test.load takes, and the type each one's value has. */
#define OPTION_NAMES \
  "config, grants, hooks, fail_closed, with, memory, instructions, dir"
static const struct { const char *key; int type; } known_options[] = {
  {"config", LUA_TTABLE}, {"grants", LUA_TTABLE}, {"hooks", LUA_TTABLE},
  {"fail_closed", LUA_TBOOLEAN}, {"with", LUA_TTABLE},
  {"memory", LUA_TNUMBER}, {"instructions", LUA_TNUMBER},
  {"dir", LUA_TSTRING}, {NULL, 0}};

/* The entries of list option `key` (at -1) are strings. */
static void check_names(lua_State *L, const char *key) {
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++)
    if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
      luaL_error(L, "test.load: %s[%d]: expected a string, got %s", key,
                 (int)i, luaL_typename(L, -1));
    else
      lua_pop(L, 1);
}

/* Refuses an option test.load does not know, or a value of the wrong
** kind, naming the key: a misspelt one ("confg") was ignored and the
** test ran with the defaults, and "5M" or 0 instructions with the host's
** default limit, passing tests of what was not set up. */
static void check_options(lua_State *L) {
  int k, whole;
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {            /* key at -2, value at -1 */
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                      : NULL;
    for (k = 0; key && known_options[k].key &&
                strcmp(known_options[k].key, key) != 0; k++) {}
    if (key == NULL)
      luaL_error(L, "test.load: options are named, not a %s key (options: "
                 OPTION_NAMES ")", luaL_typename(L, -2));
    if (known_options[k].key == NULL)
      luaL_error(L, "test.load: unknown option '%s' (options: "
                 OPTION_NAMES ")", key);
    if (lua_type(L, -1) != known_options[k].type)
      luaL_error(L, "test.load: %s: expected a %s, got %s", key,
                 lua_typename(L, known_options[k].type),
                 luaL_typename(L, -1));
    if (known_options[k].type == LUA_TNUMBER &&
        (lua_tointegerx(L, -1, &whole) <= 0 || !whole))
      luaL_error(L, "test.load: %s: expected a whole number above 0 (%s, "
                 "e.g. %s), got %s", key, key[0] == 'm' ? "bytes" :
                 "instructions per call", key[0] == 'm' ? "8388608" :
                 "5000000", lua_tostring(L, -1));
    if (strcmp(key, "hooks") == 0 || strcmp(key, "with") == 0)
      check_names(L, key);
    lua_pop(L, 1);                         /* keep the key for lua_next */
  }
}

/* test.load([options]) -> host, or raises (a spec wants to know why). */
static int test_load(lua_State *L) {
  testhost *th = testhost_of(L);
  host *h;
  char err[512];
  const char *tmp = getenv("TMPDIR");
  int fd;
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  check_options(L);
  budget_charge(L, LOAD_INSTRUCTIONS);
  if (th->engines >= TESTHOST_MAX_ENGINES)
    return luaL_error(L, "test.load: %d test hosts are open (close the ones "
                      "a test is done with: h:close())", th->engines);
  h = lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  h->th = th;
  luaL_setmetatable(L, HOST_MT);
  h->opts = lplug_value_new();
  h->scratch = lplug_value_new();
  if (h->opts == NULL || h->scratch == NULL)
    return luaL_error(L, "test.load: out of memory");
  if (value_from_lua(L, 1, h->opts, "options", MAX_OPTIONS, err,
                     sizeof err) != LPLUG_OK)
    return luaL_error(L, "test.load: %s", err);
  if (lua_getfield(L, 1, "config") != LUA_TNIL) {
    h->config = lplug_value_new();
    if (h->config == NULL) return luaL_error(L, "test.load: out of memory");
    if (value_from_lua(L, -1, h->config, "config", MAX_OPTIONS, err,
                       sizeof err) != LPLUG_OK)
      return luaL_error(L, "test.load: %s", err);
  }
  lua_pop(L, 1);
  snprintf(h->db, sizeof h->db, "%s/lplug-test-XXXXXX",
           tmp && tmp[0] ? tmp : "/tmp");
  fd = mkstemp(h->db);
  if (fd < 0) {
    h->db[0] = '\0';
    return luaL_error(L, "test.load: cannot make a storage file in %s (set "
                      "TMPDIR to a writable folder)", tmp ? tmp : "/tmp");
  }
  close(fd);
  th->engines++;
  if (!start(L, h)) {
    if (h->e == NULL) th->engines--;
    else stop(h);
    return lua_error(L);
  }
  return 1;
}

/* Pushes what a hook run left in h->scratch: the value, or nil and the
** message of the failure that stopped it (fail-closed hook points). */
static int push_result(lua_State *L, host *h, int rc) {
  if (rc != LPLUG_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, h->errors.n ? h->errors.items[h->errors.n - 1].text
                                  : lplug_strerror(rc));
    return 2;
  }
  value_push_lua(L, h->scratch, 0);
  return 1;
}

/* h:record(line) -> what hook 'record' made of {line = line, n = N}, as
** `lplug run` passes it; then delivers the events it led to. */
static int host_record(lua_State *L) {
  host *h = check_host(L);
  size_t len;
  const char *line = luaL_checklstring(L, 2, &len);
  lplug_builder *b = lplug_builder_new();
  int rc;
  if (b == NULL) return luaL_error(L, "h:record: out of memory");
  lplug_build_table(b);
  lplug_build_string(b, "line", 4);
  lplug_build_string(b, line, len);
  lplug_build_string(b, "n", 1);
  lplug_build_integer(b, ++h->n);
  lplug_build_end(b);
  rc = lplug_builder_finish(b, h->scratch);
  lplug_builder_free(b);
  if (rc != LPLUG_OK) return luaL_error(L, "h:record: out of memory");
  rc = run_hook(L, h, "record");
  if (rc == LPLUG_ENOTFOUND)
    return luaL_error(L, "h:record: hook point 'record' is not defined (the "
                      "host was loaded with hooks = {...} without it)");
  return push_result(L, h, rc);
}

/* h:run(hook, value) -> the value after the hook's handlers. */
static int host_run(lua_State *L) {
  host *h = check_host(L);
  const char *name = luaL_checkstring(L, 2);
  char err[512];
  int rc;
  lua_settop(L, 3);
  if (value_from_lua(L, 3, h->scratch, "value", MAX_OPTIONS, err,
                     sizeof err) != LPLUG_OK)
    return luaL_error(L, "h:run: %s", err);
  rc = run_hook(L, h, name);
  if (rc == LPLUG_ENOTFOUND)
    return luaL_error(L, "h:run: hook point '%s' is not defined (list it in "
                      "test.load{hooks = {...}})", name);
  return push_result(L, h, rc);
}

/* h:emit(topic, payload) -> true, after delivering it (and what it led
** to); nil and why when the engine refused it. */
static int host_emit(lua_State *L) {
  host *h = check_host(L);
  const char *topic = luaL_checkstring(L, 2);
  char err[512];
  long long began;
  int rc;
  lua_settop(L, 3);
  if (value_from_lua(L, 3, h->scratch, "payload", MAX_OPTIONS, err,
                     sizeof err) != LPLUG_OK)
    return luaL_error(L, "h:emit: %s", err);
  rc = lplug_event_emit(h->e, topic, h->scratch);
  if (rc != LPLUG_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, lplug_errmsg(h->e));
    return 2;
  }
  began = budget_host_begin(sandbox_of(L));
  pump(h);
  budget_host_end(sandbox_of(L), began);
  lua_pushboolean(L, 1);
  return 1;
}

/* h:dispatch() -> number of events delivered. */
static int host_dispatch(lua_State *L) {
  host *h = check_host(L);
  long long began = budget_host_begin(sandbox_of(L));
  int n = lplug_dispatch(h->e, 0);
  budget_host_end(sandbox_of(L), began);
  lua_pushinteger(L, n);
  return 1;
}

static const char *level_name(int level) {
  static const char *const names[] = {"debug", "info", "warn", "error"};
  return level >= 0 && level <= 3 ? names[level] : "?";
}

/* h:events([pattern]) -> { {topic =, payload =, source =}, ... }: what
** plugins emitted, or with a pattern every event whose topic matches it
** (the engine's lplug.plugin.* too). */
static int host_events(lua_State *L) {
  host *h = check_host(L);
  const char *pattern = luaL_optstring(L, 2, NULL);
  size_t i;
  lua_Integer k = 0;
  if (pattern && !events_valid(pattern, 1))
    return luaL_argerror(L, 2, "not a topic pattern (words of [A-Za-z0-9_-] "
                         "separated by dots, '*' for one word)");
  pump(h);
  lua_newtable(L);
  for (i = 0; i < h->events.n; i++) {
    const entry *x = &h->events.items[i];
    if (pattern ? !events_match(pattern, x->text) : x->plugin == NULL)
      continue;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, x->text);
    lua_setfield(L, -2, "topic");
    if (x->payload) value_push_lua(L, x->payload, 0);
    else lua_pushnil(L);
    lua_setfield(L, -2, "payload");
    if (x->plugin) lua_pushstring(L, x->plugin);
    else lua_pushnil(L);
    lua_setfield(L, -2, "source");
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

/* Pushes a list of log lines or failures. */
static int push_list(lua_State *L, const list *l, int logs) {
  size_t i;
  lua_createtable(L, (int)l->n, 0);
  for (i = 0; i < l->n; i++) {
    const entry *x = &l->items[i];
    lua_createtable(L, 0, 3);
    lua_pushstring(L, x->plugin ? x->plugin : "");
    lua_setfield(L, -2, "plugin");
    lua_pushstring(L, x->text);
    lua_setfield(L, -2, "message");
    if (logs) lua_pushstring(L, level_name(x->num));
    else lua_pushstring(L, lplug_errname(x->num));
    lua_setfield(L, -2, logs ? "level" : "code");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* h:logs() -> { {level = "warn", plugin =, message =}, ... } */
static int host_logs(lua_State *L) {
  return push_list(L, &check_host(L)->logs, 1);
}

/* h:errors() -> { {code = "ERUNTIME", plugin =, message =}, ... } */
static int host_errors(lua_State *L) {
  return push_list(L, &check_host(L)->errors, 0);
}

/* h:clear(): forgets the events, log lines and failures seen so far. */
static int host_clear(lua_State *L) {
  host *h = check_host(L);
  list_clear(&h->events);
  list_clear(&h->logs);
  list_clear(&h->errors);
  return 0;
}

/* Reads the entries of the plugin under test (one key, or all when key
** is NULL) into h->rows: key in text (length in num), value in payload. */
static void read_rows(host *h, const char *key, size_t klen) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  list_clear(&h->rows);
  if (sqlite3_open_v2(h->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, key ? "SELECT key, value FROM lplug_storage "
                         "WHERE plugin = ?1 AND key = ?2" :
                         "SELECT key, value FROM lplug_storage WHERE plugin "
                         "= ?1 ORDER BY key", -1, &st, NULL) != SQLITE_OK) {
    sqlite3_close(db);  /* no table yet: nothing stored */
    return;
  }
  sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
  if (key) sqlite3_bind_blob(st, 2, key, (int)klen, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW) {
    lplug_value *v = NULL;
    const char *k = sqlite3_column_blob(st, 0);
    int kn = sqlite3_column_bytes(st, 0);
    if (lplug_value_from_bytes(sqlite3_column_blob(st, 1),
                               (size_t)sqlite3_column_bytes(st, 1),
                               &v) != LPLUG_OK)
      continue;
    list_add_n(&h->rows, NULL, k ? k : "", k ? (size_t)kn : 0, kn, v);
    lplug_value_free(v);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* h:storage([key]) -> the value the plugin under test stored under key
** (nil when none), or a table of all its entries; read from its storage
** file, where each call's writes are as soon as the call returned. */
static int host_storage(lua_State *L) {
  host *h = check_host(L);
  size_t klen = 0, i;
  const char *key = luaL_optlstring(L, 2, NULL, &klen);
  read_rows(h, key, klen);
  if (key) {
    if (h->rows.n == 0) lua_pushnil(L);
    else value_push_lua(L, h->rows.items[0].payload, 0);
    return 1;
  }
  lua_createtable(L, 0, (int)h->rows.n);
  for (i = 0; i < h->rows.n; i++) {
    lua_pushlstring(L, h->rows.items[i].text, (size_t)h->rows.items[i].num);
    value_push_lua(L, h->rows.items[i].payload, 0);
    lua_rawset(L, -3);
  }
  return 1;
}

/* The plugin a method names (argument 2), by default the one under test. */
static const char *which(lua_State *L, host *h) {
  return luaL_optstring(L, 2, h->name);
}

#define SET_INT(field) \
  (lua_pushinteger(L, (lua_Integer)st.field), lua_setfield(L, -2, #field))

/* h:stats([plugin]) -> the plugin's lplug_stats as a table. */
static int host_stats(lua_State *L) {
  host *h = check_host(L);
  const char *name = which(L, h);
  lplug_stats st;
  if (lplug_plugin_stats(h->e, name, &st) != LPLUG_OK)
    return luaL_error(L, "h:stats: no plugin '%s' is loaded", name);
  lua_createtable(L, 0, 16);
  SET_INT(calls); SET_INT(errors); SET_INT(runtime_errors);
  SET_INT(cpu_errors); SET_INT(memory_errors); SET_INT(value_errors);
  SET_INT(denials); SET_INT(instructions); SET_INT(instruction_limit);
  SET_INT(memory); SET_INT(memory_peak); SET_INT(memory_limit);
  SET_INT(storage_bytes); SET_INT(storage_quota);
  return 1;
}

/* h:state([plugin]) -> "active", "disabled", ...; nil when not loaded. */
static int host_state(lua_State *L) {
  host *h = check_host(L);
  int state = lplug_plugin_state(h->e, which(L, h));
  if (state < 0) lua_pushnil(L);
  else lua_pushstring(L, lplug_state_name(state));
  return 1;
}

/* h:name() -> the name of the plugin under test. */
static int host_name(lua_State *L) {
  lua_pushstring(L, check_host(L)->name);
  return 1;
}

/* h:restart(): as if the host program ran again: the engine is freed
** (plugins shut down, storage committed) and made anew from the same
** options over the same storage file.  Raises if the plugin fails to
** load again. */
static int host_restart(lua_State *L) {
  host *h = check_host(L);
  stop(h);
  h->th->engines++;
  if (!start(L, h)) {
    if (h->e == NULL) h->th->engines--;
    else stop(h);
    return lua_error(L);
  }
  return 0;
}

static const luaL_Reg host_methods[] = {
  {"record", host_record}, {"run", host_run}, {"emit", host_emit},
  {"dispatch", host_dispatch}, {"events", host_events}, {"logs", host_logs},
  {"errors", host_errors}, {"clear", host_clear}, {"storage", host_storage},
  {"stats", host_stats}, {"state", host_state}, {"name", host_name},
  {"restart", host_restart}, {"close", host_close}, {NULL, NULL}
};

int luaopen_lplug_test(lua_State *L) {
  static const luaL_Reg funcs[] = {{"load", test_load}, {NULL, NULL}};
  if (luaL_newmetatable(L, HOST_MT)) {
    luaL_newlib(L, host_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, host_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, host_close);
    lua_setfield(L, -2, "__close");
    lua_pushliteral(L, "lplug.test host");
    lua_setfield(L, -2, "__name");
    /* Hidden: a spec replacing __gc would run unbudgeted (events.c). */
    lua_pushliteral(L, "lplug.test host");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
