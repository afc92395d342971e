/*
** plugin.c -- one plugin: its manifest, its sandbox, loading it, the
** modules it may require, and the reports of its failures.
*/
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "engine/grow.h"
#include "engine/caps.h"
#include "engine/engine.h"
#include "engine/value_lua.h"

/* For the call path: the hot part inlined, the failure paths kept out of
** line (GCC would otherwise inline them, being called once, and the hot
** part would not fit its inlining limits). */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define NOINLINE
#define ALWAYS_INLINE inline
#endif

static const char *const callback_names[PLUGIN_CALLBACKS] = {
  "init", "shutdown", "save", "restore"
};

plugin *plugin_of(lua_State *L) {
  return sandbox_of(L)->config.owner;
}

const char *plugin_name(const plugin *p) { return p->name; }

int lplug_grant_declared(void *ud, const char *who, const char *capability,
                         const char *item) {
  (void)ud; (void)who; (void)capability; (void)item;
  return 1;
}

/* The host's grant callback, its time not the plugin's (backstop). */
static int host_grants(plugin *p, const char *cap, const char *item) {
  lplug_engine *e = p->engine;
  long long began = budget_host_begin(&p->sb);
  int ok = e->config.grant(e->config.ud, p->name, cap, item);
  budget_host_end(&p->sb, began);
  return ok;
}

void plugin_require(lua_State *L, plugin *p, const char *cap,
                    const char *item, const char *what) {
  lplug_engine *e = p->engine;
  char list[512];
  if (!caps_allows(p->m->capabilities, 0, cap, item)) {
    p->stats.denials++;
    if (item == NULL)
      luaL_error(L, "%s: plugin '%s' lacks capability '%s' (declare it under "
                 "'capabilities:' in plugin.yaml; the host must grant it)",
                 what, p->name, cap);
    caps_list(p->m->capabilities, 0, cap, list, sizeof list);
    luaL_error(L, "%s: plugin '%s' does not declare '%s' under "
               "capabilities.%s (it lists: %s; add it in plugin.yaml; the "
               "host must grant it)", what, p->name, item, cap,
               list[0] ? list : "nothing");
  }
  if (e->config.grant == NULL || !host_grants(p, cap, item)) {
    p->stats.denials++;
    if (item == NULL)
      luaL_error(L, "%s: the host does not grant capability '%s' to plugin "
                 "'%s' (granting is the host's choice: lplug_config.grant, "
                 "or the lplug command's settings)", what, cap, p->name);
    luaL_error(L, "%s: the host does not grant '%s' of capability '%s' to "
               "plugin '%s' (granting is the host's choice: "
               "lplug_config.grant, or the lplug command's settings)", what,
               item, cap, p->name);
  }
}

lplug_value *plugin_scratch(plugin *p) { return &p->scratch; }
char **plugin_text(plugin *p) { return &p->text; }

size_t plugin_max_value(const plugin *p) {
  size_t max = p->sb.config.memory_limit * ENGINE_VALUE_FACTOR;
  return max > ENGINE_MAX_VALUE ? ENGINE_MAX_VALUE : max;
}

double plugin_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Tells the host how many of p's messages were dropped since the last
** note. */
static void note_dropped(plugin *p, double now) {
  char text[128];
  snprintf(text, sizeof text, "(%llu message%s dropped: more than %d at "
           "once or %g a second)", p->log_dropped,
           p->log_dropped == 1 ? "" : "s", PLUGIN_LOG_BURST, PLUGIN_LOG_RATE);
  p->log_dropped = 0;
  p->log_noted = now;
  engine_log(p->engine, LPLUG_LOG_WARN, p->name, text);
}

/* The host's callback runs on the host's time, not the call's (the
** backstop excludes it): the rate limit is what bounds the host's work
** for a plugin that logs or prints without end.  The note of what was
** dropped takes a message's place under the limit, and comes at most
** once a second, so that a flood's lines stay mostly the plugin's; a
** flood that stops is told as its call ends (dropped_after_call) or
** when the plugin goes (plugin_free). */
void plugin_log(plugin *p, int level, const char *message) {
  long long began;
  double now = plugin_monotonic();
  int note = p->log_dropped > 0 && now - p->log_noted >= 1.0;
  p->log_tokens += (now - p->log_refilled) * PLUGIN_LOG_RATE;
  if (p->log_tokens > PLUGIN_LOG_BURST) p->log_tokens = PLUGIN_LOG_BURST;
  p->log_refilled = now;
  if (p->log_tokens < 1 + note) {
    p->log_dropped++;
    return;
  }
  p->log_tokens -= 1 + note;
  began = budget_host_begin(&p->sb);
  if (note) note_dropped(p, now);
  engine_log(p->engine, level, p->name, message);
  budget_host_end(&p->sb, began);
}

/* note_dropped outside p's Lua code: as its call ends or as it goes.
** The host's callback may not load or unload meanwhile (p is still in
** use). */
static void note_dropped_now(plugin *p, double now) {
  p->engine->busy++;
  note_dropped(p, now);
  p->engine->busy--;
}

/* A call that dropped messages says so as it ends, unless a note came
** less than a second ago (the next one then waits for a line to pass, a
** later call's end, or the plugin's going). */
static NOINLINE void dropped_after_call(plugin *p) {
  double now = plugin_monotonic();
  if (now - p->log_noted >= 1.0) note_dropped_now(p, now);
}

static const struct module {
  const char *name;
  lua_CFunction open;
} modules[] = {
  {"hooks", luaopen_lplug_hooks},
  {"log", luaopen_lplug_log},
  {"time", luaopen_lplug_time},
  {"json", luaopen_lplug_json},
  {"events", luaopen_lplug_events},
  {"storage", luaopen_lplug_storage},
  {"config", luaopen_lplug_config},
  {NULL, NULL}
};

/* sandbox_config.open_module: lplug.<name> if p declares its capability. */
static int open_module(lua_State *L, const char *name, void *owner) {
  plugin *p = owner;
  const struct module *m;
  for (m = modules; m->name && strcmp(m->name, name) != 0; m++) {}
  if (m->name == NULL)
    return luaL_error(L, "require 'lplug.%s': no such module (lplug has: "
                      "lplug.hooks, lplug.events, lplug.storage, lplug.log, "
                      "lplug.time, lplug.json, lplug.config)", name);
  lua_pushfstring(L, "require 'lplug.%s'", name);
  plugin_require(L, p, name, NULL, lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pushcfunction(L, m->open);
  lua_call(L, 0, 1);
  return 1;
}

/* A printed line is a message at info level, under the same rate limit
** as lplug.log's: print needs no capability, and 100,000 lines of 4 KB
** once all reached the host, for as long as the host took to write them. */
static void print_line(void *owner, const char *text) {
  plugin_log(owner, LPLUG_LOG_INFO, text);
}

static void warn_manifest(void *ud, const char *message) {
  engine_log(ud, LPLUG_LOG_WARN, NULL, message);
}

/* "50 ms", "2 s", "500 us", "1500 ns"; "no time limit" for 0. */
static const char *time_text(long long ns, char *buf, size_t size) {
  if (ns <= 0) snprintf(buf, size, "no time limit");
  else if (ns % 1000000000LL == 0)
    snprintf(buf, size, "%lld s", ns / 1000000000LL);
  else if (ns % 1000000LL == 0) snprintf(buf, size, "%lld ms", ns / 1000000LL);
  else if (ns % 1000LL == 0) snprintf(buf, size, "%lld us", ns / 1000LL);
  else snprintf(buf, size, "%lld ns", ns);
  return buf;
}

/* The storage half of a call's end.  Out of line so that its message
** buffer (and the stack protector's check that comes with it) is not in
** the frame of every call. */
static NOINLINE int leave_storage(plugin *p, storage *store, storage_frame *frame,
                         int rc, const char *activity) {
  char err[512];
  if (storage_leave(store, frame, rc != LPLUG_OK, err, sizeof err) !=
      LPLUG_OK && rc == LPLUG_OK)
    rc = engine_error(p->engine, LPLUG_EIO, "plugin '%s': %s in %s", p->name,
                      err, activity);
  return rc;
}

/* A failed call's end: its events undone, the failure reported and
** counted.  Out of line: a successful call never comes here. */
static NOINLINE int call_failed(plugin *p, int rc, unsigned long long mark,
                       const char *activity) {
  lplug_engine *e = p->engine;
  events_rollback(e, mark, p->name);
  /* What the failed call registered goes too (stats.calls now counts it).
  ** Not for a call refused because p was running: that call did nothing,
  ** and the one running is not over. */
  if (rc != LPLUG_ESTATE && p->subs_call == p->stats.calls)
    events_drop_since(e, p, p->subs_from);
  if (rc != LPLUG_ESTATE && p->handlers_call == p->stats.calls)
    hook_drop_since(e, p, p->handlers_from);
  if (rc == LPLUG_ERUNTIME && !p->compiled) rc = LPLUG_ELOAD;
  e->busy++;  /* on_error and on_state must not unload p under us */
  plugin_fail(p, rc, activity);
  /* A call refused because the plugin was running already (the host
  ** called back into it) is the host's doing: it does not count toward
  ** safe mode, or a host's own nesting could disable a sound plugin. */
  if (rc != LPLUG_ESTATE) plugin_count_failure(p);
  e->busy--;
  return rc;
}

/* plugin_call and plugin_call_pushed: f NULL means pushed.  Inlined into
** both, so that a hook's call is one function here, not a wrapper and
** this (the wrapper was 11 of 922 Ir per call in hook_int). */
static ALWAYS_INLINE int call(plugin *p, lua_CFunction f, void *ud, int nargs,
                       int nres, int (*take)(plugin *p, void *ud),
                       const char *activity) {
  lplug_engine *e = p->engine;
  unsigned long long mark = events_mark(e);
  storage *store = e->store;  /* opened before any call that can use it */
  storage_frame frame;
  int rc;
  if (store) storage_enter(store, &frame, p);
  e->calls++;
  rc = f ? sandbox_pcall(&p->sb, f, ud, nres)
         : sandbox_pcall_pushed(&p->sb, nargs, nres);
  e->calls--;
  p->stats.calls++;
  p->stats.instructions += (unsigned long long)p->sb.charged;
  if (rc == LPLUG_OK) {
    if (take) rc = take(p, ud);
    else lua_pop(p->sb.L, nres);
  }
  if (store) rc = leave_storage(p, store, &frame, rc, activity);
  if (p->log_dropped) dropped_after_call(p);
  if (rc != LPLUG_OK) return call_failed(p, rc, mark, activity);
  p->failures = 0;
  return rc;
}

int plugin_call(plugin *p, lua_CFunction f, void *ud, int nres,
                int (*take)(plugin *p, void *ud), const char *activity) {
  return call(p, f, ud, 1, nres, take, activity);
}

int plugin_call_pushed(plugin *p, int nargs, int nres,
                       int (*take)(plugin *p, void *ud), void *ud,
                       const char *activity) {
  return call(p, NULL, ud, nargs, nres, take, activity);
}

typedef struct callback_call {
  int ref;
  const lplug_value *arg;
  lplug_value *out;
  const char *name;
} callback_call;

static int call_callback(lua_State *L) {
  const callback_call *c = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
  if (c->arg) value_push_lua(L, c->arg, 0);
  lua_call(L, c->arg ? 1 : 0, 1);
  return 1;
}

static int take_callback_result(plugin *p, void *ud) {
  const callback_call *c = ud;
  lua_State *L = p->sb.L;
  char err[512];
  int rc = LPLUG_OK;
  if (c->out) {
    rc = value_from_lua(L, -1, c->out, "value", plugin_max_value(p), err,
                        sizeof err);
    if (rc != LPLUG_OK) {
      engine_error(p->engine, rc, "plugin '%s': %s returned a value that "
                   "cannot leave the plugin: %s", p->name, c->name, err);
      if (rc != LPLUG_ENOMEM) rc = LPLUG_EVALUE;
    }
  }
  lua_pop(L, 1);
  return rc;
}

int plugin_callback(plugin *p, int which, const lplug_value *arg,
                    lplug_value *out) {
  char activity[32];
  callback_call c;
  if (p->callbacks[which] == LUA_NOREF) {
    if (out) value_set_nil(out);
    return LPLUG_OK;
  }
  c.ref = p->callbacks[which];
  c.arg = arg;
  c.out = out;
  c.name = callback_names[which];
  snprintf(activity, sizeof activity, "%s()", callback_names[which]);
  return plugin_call(p, call_callback, &c, 1, take_callback_result,
                     activity);
}

/* The end of a limit's message: where the limit was set.  plugin.yaml's
** limits.<key> when it set one; else the host's own limit, which the
** manifest can only lower (a manifest without limits: was blamed). */
static const char *limit_origin(const char *key, int in_manifest,
                                const char *host, char *buf, size_t size) {
  if (in_manifest)
    snprintf(buf, size, "limits.%s in plugin.yaml; the host %s", key, host);
  else
    snprintf(buf, size, "the host's limit: lplug_config.%s_limit or "
             "limits.%s in lplug.yaml; plugin.yaml sets none and could only "
             "lower it", strcmp(key, "instructions") == 0 ? "instruction"
             : key, key);
  return buf;
}

/* " at file:line" of the plugin's code where a limit hit, or what the
** call was doing when no Lua function of the plugin had a line: the
** engine was passing a value in (a 10 MB input line's string) or
** compiling, where budget_where finds no line. */
static const char *limit_where(const sandbox *sb, char *buf, size_t size) {
  const char *at = sandbox_where(sb);
  if (at[0])
    snprintf(buf, size, " at %s", at);
  else
    snprintf(buf, size, " outside its Lua code, as the engine passed a "
             "value in or compiled a file");
  return buf;
}

int plugin_fail(plugin *p, int code, const char *activity) {
  lplug_engine *e = p->engine;
  const sandbox *sb = &p->sb;
  char a[32], b[32], host[64], origin[192];
  char where[sizeof sb->failure->where + 80];
  p->stats.errors++;
  switch (code) {
    case LPLUG_ECPU:
      p->stats.cpu_errors++;
      limit_where(sb, where, sizeof where);
      if (sb->stop == SANDBOX_STOP_BACKSTOP) {
        char c[32];
        engine_error(e, code, "plugin '%s': time backstop of %s passed in "
                     "%s%s, before its instruction budget of %lld was spent "
                     "(instruction mode allows %s per instruction, at least "
                     "%s; a time limit bounds a call more tightly)", p->name,
                     time_text(sb->config.backstop, a, sizeof a), activity,
                     where, sb->config.instruction_limit,
                     time_text(LPLUG_BACKSTOP_PER_INSTRUCTION, b, sizeof b),
                     time_text(LPLUG_BACKSTOP_MIN, c, sizeof c));
        break;
      }
      if (sb->stop == SANDBOX_STOP_TIME) {
        snprintf(host, sizeof host, "%s%s",
                 e->config.time_limit ? "allows at most " : "sets ",
                 time_text(e->config.time_limit, b, sizeof b));
        engine_error(e, code, "plugin '%s': time limit of %s passed in %s%s "
                     "(%s)", p->name,
                     time_text(sb->config.time_limit, a, sizeof a), activity,
                     where, limit_origin("time", p->m->time_limit != 0, host,
                                         origin, sizeof origin));
        break;
      }
      snprintf(host, sizeof host, "allows at most %lld",
               e->config.instruction_limit);
      engine_error(e, code, "plugin '%s': instruction budget of %lld spent "
                   "in %s%s (%s)", p->name, sb->config.instruction_limit,
                   activity, where,
                   limit_origin("instructions", p->m->instruction_limit != 0,
                                host, origin, sizeof origin));
      break;
    case LPLUG_EMEM:
      p->stats.memory_errors++;
      snprintf(host, sizeof host, "allows at most %s",
               engine_size_text(e->config.memory_limit, b, sizeof b));
      engine_error(e, code, "plugin '%s': memory budget of %s exhausted in %s"
                   "%s (%s)", p->name,
                   engine_size_text(sb->config.memory_limit, a, sizeof a),
                   activity, limit_where(sb, where, sizeof where),
                   limit_origin("memory", p->m->memory_limit != 0, host,
                                origin, sizeof origin));
      break;
    case LPLUG_EVALUE:
      p->stats.value_errors++;
      break;  /* the caller composed the message */
    case LPLUG_ENOMEM:
    case LPLUG_EIO:
      break;  /* the host ran out of memory, storage failed: the caller's
                 message */
    case LPLUG_ELOAD:
      engine_error(e, code, "plugin '%s': cannot load: %s", p->name,
                   sandbox_message(sb));
      break;
    default:
      p->stats.runtime_errors++;
      engine_error(e, code, "plugin '%s': error in %s: %s", p->name, activity,
                   sandbox_message(sb));
  }
  engine_report(e, p->name, code,
                code == LPLUG_EVALUE ? "" : sandbox_traceback(sb));
  return code;
}

/* Whether key (a string) is one of callback_names. */
static int is_callback_name(const char *key) {
  int i;
  for (i = 0; i < PLUGIN_CALLBACKS; i++)
    if (strcmp(key, callback_names[i]) == 0) return 1;
  return 0;
}

/* Pushes how an error message shows the key at the top: 'name', [1],
** or its type (a table key's __tostring is the plugin's code). */
static void push_key_text(lua_State *L) {
  if (lua_type(L, -1) == LUA_TSTRING) {
    lua_pushfstring(L, "'%s'", lua_tostring(L, -1));
  } else if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_pushvalue(L, -1);       /* a copy: tostring converts in place */
    lua_pushfstring(L, "[%s]", lua_tostring(L, -1));
  } else {
    lua_pushfstring(L, "of type %s", luaL_typename(L, -1));
  }
}

/* Raises if the callbacks table at the top has a key that names no
** callback: a misspelt one ('intit') would otherwise leave the default
** (nothing runs) silently in force, as a misspelt config key would.  A
** load error rather than a warning: a missing save or restore loses the
** plugin's state at its first reload, long after a warning scrolled by.
** Read raw; the first unknown key ends the walk. */
static void check_callback_keys(lua_State *L, const char *main) {
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);                                     /* the value */
    if (lua_type(L, -1) != LUA_TSTRING ||
        !is_callback_name(lua_tostring(L, -1))) {
      push_key_text(L);
      luaL_error(L, "%s returned callbacks with an unknown key %s (the "
                 "callbacks are init, shutdown, save, restore)", main,
                 lua_tostring(L, -1));
    }
  }
}

/* Runs the main file; what it returns may be a table of callbacks, kept
** in the registry (read raw: no metamethod of the plugin runs here). */
static int run_main(lua_State *L) {
  plugin *p = lua_touserdata(L, 1);
  int i;
  sandbox_loadmain(L, p->m->main);
  p->compiled = 1;
  lua_call(L, 0, 1);
  if (lua_isnil(L, -1)) return 0;
  if (!lua_istable(L, -1))
    return luaL_error(L, "%s returned a %s (return a table of callbacks: "
                      "init, shutdown, save, restore; or nothing)",
                      p->m->main, luaL_typename(L, -1));
  check_callback_keys(L, p->m->main);
  for (i = 0; i < PLUGIN_CALLBACKS; i++) {
    lua_pushstring(L, callback_names[i]);
    lua_rawget(L, -2);
    if (lua_isfunction(L, -1)) {
      p->callbacks[i] = luaL_ref(L, LUA_REGISTRYINDEX);
    } else if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
    } else {
      return luaL_error(L, "%s returned callbacks whose '%s' is a %s, not a "
                        "function", p->m->main, callback_names[i],
                        luaL_typename(L, -1));
    }
  }
  return 0;
}

/* Limits after the manifest: asking for more than the host allows is an
** error naming both.  A CPU limit the host does not set (0) has no
** ceiling: the manifest may add it. */
static int apply_limits(lplug_engine *e, const manifest *m, size_t *memory,
                        long long *instructions, long long *time) {
  char a[32], b[32];
  *memory = e->config.memory_limit;
  *instructions = e->config.instruction_limit;
  *time = e->config.time_limit;
  if (m->memory_limit > e->config.memory_limit)
    return engine_error(e, LPLUG_EMANIFEST, "%s: limits.memory: %s is over "
                        "the host's ceiling of %s (ask for at most that)",
                        m->memory_where,
                        engine_size_text(m->memory_limit, a, sizeof a),
                        engine_size_text(e->config.memory_limit, b,
                                         sizeof b));
  if (e->config.instruction_limit > 0 &&
      m->instruction_limit > e->config.instruction_limit)
    return engine_error(e, LPLUG_EMANIFEST, "%s: limits.instructions: %lld is "
                        "over the host's ceiling of %lld (ask for at most "
                        "that)", m->instructions_where, m->instruction_limit,
                        e->config.instruction_limit);
  if (e->config.time_limit > 0 && m->time_limit > e->config.time_limit)
    return engine_error(e, LPLUG_EMANIFEST, "%s: limits.time: %s is over the "
                        "host's ceiling of %s (ask for at most that)",
                        m->time_where, time_text(m->time_limit, a, sizeof a),
                        time_text(e->config.time_limit, b, sizeof b));
  if (m->memory_limit) *memory = m->memory_limit;
  if (m->instruction_limit) *instructions = m->instruction_limit;
  if (m->time_limit) *time = m->time_limit;
  return LPLUG_OK;
}

long long engine_backstop(long long n) {
  if (n > LLONG_MAX / LPLUG_BACKSTOP_PER_INSTRUCTION) return LLONG_MAX;
  n *= LPLUG_BACKSTOP_PER_INSTRUCTION;
  return n > LPLUG_BACKSTOP_MIN ? n : LPLUG_BACKSTOP_MIN;
}

/* Starts the engine's watchdog if need be and tells it of a limit. */
static int watch(lplug_engine *e, long long ns) {
  char err[256];
  if (e->watchdog == NULL && (e->watchdog = watchdog_new(err, sizeof err)) ==
      NULL)
    return engine_error(e, LPLUG_ENOMEM, "%s", err);
  watchdog_watch(e->watchdog, ns);
  return LPLUG_OK;
}

/* A plugin that declares storage and is granted it gets a quota (the
** host's, or less if its manifest asks) and the engine's database, opened
** now if it is the first. */
static int apply_storage(lplug_engine *e, plugin *p) {
  const lplug_value *caps = p->m->capabilities;
  size_t at, quota = e->config.storage_quota;
  char a[32], b[32], err[512];
  int rc;
  if (!caps_allows(caps, 0, "storage", NULL) || e->config.grant == NULL ||
      !e->config.grant(e->config.ud, p->name, "storage", NULL))
    return LPLUG_OK;  /* require "lplug.storage" will say why not */
  if (lplug_value_field(caps, 0, "storage", &at) &&
      lplug_value_field(caps, at, "quota", &at)) {
    const char *text = lplug_value_string(caps, at, NULL);
    int ok = 0;
    long long n = lplug_value_integer(caps, at, &ok);
    if (text ? !lplug_parse_size(text, &quota) : !ok || n <= 0)
      return engine_error(e, LPLUG_EMANIFEST, "plugin '%s': capabilities."
                          "storage.quota: expected a size such as 256KB or "
                          "4MB", p->name);
    if (!text) quota = (size_t)n;
    if (quota > e->config.storage_quota)
      return engine_error(e, LPLUG_EMANIFEST, "plugin '%s': capabilities."
                          "storage.quota: %s is over the host's ceiling of %s "
                          "(ask for at most that)", p->name,
                          engine_size_text(quota, a, sizeof a),
                          engine_size_text(e->config.storage_quota, b,
                                           sizeof b));
  }
  if (e->store == NULL &&
      (rc = storage_open(&e->store, e->config.storage_path,
                         e->config.storage_batch_ms, err, sizeof err)) !=
          LPLUG_OK)
    return engine_error(e, rc, "%s (opened for plugin "
                        "'%s')", err, p->name);
  p->storage_quota = quota;
  p->stats.storage_quota = quota;
  return LPLUG_OK;
}

struct storage *plugin_storage(plugin *p) {
  return p->storage_quota ? p->engine->store : NULL;
}

static int add_plugin(lplug_engine *e, plugin *p) {
  if (!grow(&e->plugins, &e->cap, e->nplugins, sizeof *e->plugins, 8))
    return LPLUG_ENOMEM;
  e->plugins[e->nplugins++] = p;
  names_add(e, p);
  e->conflicting += deps_conflicts(p->m);
  return LPLUG_OK;
}

static int report_load_error(lplug_engine *e, const char *name, int code) {
  engine_report(e, name, code, "");
  return code;
}

/* A failed load of p: said to the host (its state was LOADED), then p is
** gone with what it registered. */
static int load_failed(lplug_engine *e, plugin *p, int rc) {
  plugin_changed(p, LPLUG_STATE_FAILED, e->errmsg);
  hook_drop_plugin(e, p);
  events_drop_plugin(e, p);
  plugin_free(p);
  return rc;
}

int plugin_build(lplug_engine *e, const char *dir, const char *real,
                 const plugin *replacing, manifest *m, plugin **out) {
  char path[PATH_MAX], err[1024];
  struct stat st;
  sandbox_config sc;
  const plugin *twin;
  plugin *p;
  int rc, i;
  *out = NULL;
  /* A canonical path found when the set was read may be old by now
  ** (other plugins' loads and the host's callbacks ran since): still a
  ** folder, not a link put in its place, or resolved again. */
  if (real != NULL && (lstat(real, &st) != 0 || !S_ISDIR(st.st_mode)))
    real = NULL;
  if (real == NULL && (real = realpath(dir, path)) == NULL) {
    manifest_free(m);
    return report_load_error(e, replacing ? replacing->name : dir,
                             engine_error(e, LPLUG_EIO,
                                          "cannot open plugin folder '%s'",
                                          dir));
  }
  p = calloc(1, sizeof *p);
  if (p == NULL || (p->dir = strdup(real)) == NULL) {
    free(p);
    manifest_free(m);
    return engine_error(e, LPLUG_ENOMEM, "out of memory loading '%s'", dir);
  }
  p->engine = e;
  p->log_tokens = PLUGIN_LOG_BURST;
  p->log_refilled = plugin_monotonic();
  for (i = 0; i < PLUGIN_CALLBACKS; i++) p->callbacks[i] = LUA_NOREF;
  value_set_nil(&p->scratch);
  snprintf(path, sizeof path, "%s/plugin.yaml", dir);
  p->m = m;
  rc = m ? LPLUG_OK : manifest_load(path, &p->m, err, sizeof err,
                                    warn_manifest, e);
  if (rc != LPLUG_OK) {
    engine_error(e, rc, "%s", err);
    plugin_free(p);
    /* A reload names the plugin it is about (lplug.h: on_error's plugin
    ** is a name); a first load has only its folder. */
    return report_load_error(e, replacing ? replacing->name : dir, rc);
  }
  p->name = p->m->name;
  if (replacing && strcmp(p->name, replacing->name) != 0) {
    engine_error(e, LPLUG_EMANIFEST, "%s: the plugin is now named '%s', "
                 "not '%s' (load it as a new plugin)", path, p->name,
                 replacing->name);
    rc = report_load_error(e, replacing->name, LPLUG_EMANIFEST);
    plugin_free(p);
    return rc;
  }
  if (!replacing && (twin = engine_find_plugin(e, p->name, NULL)) != NULL) {
    engine_error(e, LPLUG_EEXIST, "%s: a plugin named '%s' is already "
                 "loaded (from %s)", path, p->name, twin->dir);
    rc = report_load_error(e, p->name, LPLUG_EEXIST);
    plugin_free(p);
    return rc;
  }
  if ((rc = deps_check(e, p->m, NULL)) != LPLUG_OK) {
    rc = report_load_error(e, p->name, rc);
    plugin_free(p);
    return rc;
  }
  if ((rc = overrides_apply(p)) != LPLUG_OK) {
    rc = report_load_error(e, p->name, rc);
    plugin_free(p);
    return rc;
  }
  memset(&sc, 0, sizeof sc);
  sc.name = p->name;
  sc.dir = p->dir;
  sc.open_module = open_module;
  sc.print = print_line;
  sc.owner = p;
  rc = apply_limits(e, p->m, &sc.memory_limit, &sc.instruction_limit,
                    &sc.time_limit);
  if (rc == LPLUG_OK && sc.time_limit > 0) rc = watch(e, sc.time_limit);
  /* The host's choice, not the manifest's: a plugin asking for a
  ** deadline of a day must not lose the backstop by it. */
  if (e->config.time_limit == 0 && !e->no_backstop &&
      sc.instruction_limit > 0)
    sc.backstop = engine_backstop(sc.instruction_limit);
  sc.watchdog = e->watchdog;
  if (rc == LPLUG_OK) rc = apply_storage(e, p);
  if (rc == LPLUG_OK && sandbox_open(&p->sb, &sc, err, sizeof err) != 0)
    rc = engine_error(e, LPLUG_EMEM, "plugin '%s': %s", p->name, err);
  if (rc != LPLUG_OK) {
    rc = report_load_error(e, p->name, rc);
    plugin_free(p);
    return rc;
  }
  p->stats.memory_limit = sc.memory_limit;
  p->stats.instruction_limit = sc.instruction_limit;
  p->stats.time_limit = sc.time_limit;
  p->stats.backstop = sc.backstop;
  *out = p;
  return LPLUG_OK;
}

/* The main file and init are kept or undone together, as one call's
** writes are: a load that fails at init leaves nothing of the plugin,
** neither what its main file stored nor the events it emitted. */
int plugin_start(plugin *p) {
  lplug_engine *e = p->engine;
  unsigned long long mark = events_mark(e);
  storage_frame frame;
  int rc;
  p->state = LPLUG_STATE_LOADED;
  if (e->store) storage_enter(e->store, &frame, p);
  rc = plugin_call(p, run_main, p, 0, NULL, "loading");
  if (rc == LPLUG_OK) rc = plugin_callback(p, PLUGIN_INIT, NULL, NULL);
  if (e->store) {
    int left = leave_storage(p, e->store, &frame, rc, "loading");
    if (left != rc) engine_report(e, p->name, left, "");  /* not reported */
    rc = left;
  }
  if (rc != LPLUG_OK) events_rollback(e, mark, p->name);
  return rc;
}

int plugin_load(lplug_engine *e, const char *dir) {
  return plugin_load_manifest(e, dir, NULL, NULL);
}

static int load_busy(lplug_engine *e, const char *dir, const char *real,
                     manifest *m) {
  plugin *p;
  int rc = plugin_build(e, dir, real, NULL, m, &p);
  if (rc != LPLUG_OK) return rc;
  plugin_changed(p, LPLUG_STATE_LOADED, "loading");
  rc = plugin_start(p);
  if (rc == LPLUG_OK && (rc = add_plugin(e, p)) != LPLUG_OK)
    engine_error(e, rc, "out of memory loading '%s'", p->name);
  if (rc != LPLUG_OK) return load_failed(e, p, rc);
  plugin_changed(p, LPLUG_STATE_ACTIVE, "loaded");
  return LPLUG_OK;
}

/* The load is busy throughout: a callback (grant, on_state, on_log,
** on_error) loading the same folder again got two plugins of one name. */
int plugin_load_manifest(lplug_engine *e, const char *dir, const char *real,
                         manifest *m) {
  int rc;
  e->busy++;
  rc = load_busy(e, dir, real, m);
  e->busy--;
  return rc;
}

int plugin_refuse_busy(lplug_engine *e, const char *op) {
  return engine_error(e, LPLUG_ESTATE, "%s: called from a callback of the "
                      "engine's while it loads, unloads or reloads a plugin "
                      "or reports a failure (do it after that returns)", op);
}

void plugin_free(plugin *p) {
  if (p == NULL) return;
  if (p->log_dropped && p->engine)  /* the last of a flood */
    note_dropped_now(p, plugin_monotonic());
  /* the callbacks' registry refs go with the state */
  sandbox_close(&p->sb);
  manifest_free(p->m);
  lplug_value_free(p->config);
  value_release(&p->scratch);
  free(p->text);
  free(p->dir);
  free(p);
}
