/*
** engine.h -- the engine's internal structures, shared by the engine/ sources.
** stdlib/ sees only engine/internal.h.
*/
#ifndef LPLUG_ENGINE_H
#define LPLUG_ENGINE_H

#include "lplug.h"
#include "engine/internal.h"
#include "engine/manifest.h"
#include "engine/storage.h"
#include "engine/value.h"
#include "sandbox/sandbox.h"

/* A result may take at most this many times the plugin's memory limit
** once encoded (tables shared inside a result are copied each time they
** are met, so a small state could otherwise make the host write a lot),
** and never more than ENGINE_MAX_VALUE bytes; past that: LPLUG_EVALUE. */
#define ENGINE_VALUE_FACTOR 4
#define ENGINE_MAX_VALUE (64u * 1024u * 1024u)

typedef struct handler {
  plugin *plugin;
  int ref;                    /* the function in the plugin's registry */
  int priority;
  unsigned long long seq;     /* registration order, and the handle */
  char **names;               /* plugins it runs before (nbefore), then
                                 after (nafter); one allocation, or NULL */
  int nbefore, nafter;
} handler;

struct lplug_hook {
  lplug_engine *engine;
  lplug_hook *next;           /* in its hash bucket */
  lplug_hook *defined_next;   /* in definition order */
  unsigned hash;
  int flags;
  handler *handlers;          /* in run order (hook.c, order_handlers) */
  int n, cap;
  int running;                /* runs in progress (handlers may nest) */
  int dead;                   /* handlers turned off during a run */
  int constraints;            /* handlers naming others in before/after */
  int names;                  /* the names in all their before/after lists:
                                 what a sort compares grows with them */
  int reordered;              /* the order may not be the plain one (the
                                 constraints put it so) */
  char activity[80];          /* "hook 'name'", for failure messages: made
                                 once, not on every call */
  char name[];
};

/* The callbacks a main file may return, by index into plugin.callbacks. */
enum { PLUGIN_INIT, PLUGIN_SHUTDOWN, PLUGIN_SAVE, PLUGIN_RESTORE,
       PLUGIN_CALLBACKS };

struct plugin {
  lplug_engine *engine;
  int state;                  /* enum lplug_plugin_state */
  int callbacks[PLUGIN_CALLBACKS];  /* registry refs, LUA_NOREF if none */
  int failures;               /* failed calls in a row (safe mode) */
  int safe_mode;              /* DISABLED by safe mode, not by the host */
  manifest *m;
  const char *name;           /* m->name */
  char *dir;                  /* realpath of the folder */
  sandbox sb;
  lplug_stats stats;
  int compiled;               /* main file compiled (tells ELOAD apart) */
  lplug_value scratch;        /* reused by modules; owned here so that a
                                 Lua error cannot leak it */
  char *text;                 /* likewise, for text made outside Lua */
  lplug_value *config;        /* effective configuration (overrides.c) */
  double log_tokens;          /* lplug.log and print rate limit (plugin_log) */
  double log_refilled;        /* monotonic seconds of the last refill */
  double log_noted;           /* ... of the last "messages dropped" */
  unsigned long long log_dropped;
  int subscriptions;          /* events.c: live ones, for the cap */
  /* events.c: what its event handlers spent in dispatch number
  ** `events_dispatch` (instructions, or ns in deadline mode), and whether
  ** they ran out of that dispatch's allowance (LPLUG_DISPATCH_BUDGETS) */
  unsigned long long events_dispatch;
  long long events_spent;
  int events_stopped;
  /* What the call running now (stats.calls counts the calls before it)
  ** registered: from subscription id `subs_from` and handler seq
  ** `handlers_from` on, when subs_call / handlers_call is that call's
  ** number.  A failed call's are undone (plugin.c, call_failed). */
  unsigned long long subs_call, handlers_call, handlers_from;
  long long subs_from;
  /* hook.c: handlers p ever registered, up to HOOK_MAX_PER_PLUGIN: an
  ** upper bound of those it has on any one hook, so that only a plugin
  ** that reached the cap makes hook_add count its handlers on the hook
  ** (a count on every registration made loading n plugins on one hook
  ** O(n^2)) */
  int handlers_added;
  /* storage.c: p's usage, cached while storage_epoch matches the
  ** storage's; its quota (0: no storage) and its writes */
  long long storage_used;     /* exact, or an upper bound (storage_exact) */
  int storage_exact;
  unsigned long long storage_epoch, storage_writes;
  unsigned long long storage_scanned;  /* rows read recounting its usage
                                          in its calls, to charge */
  size_t storage_quota;
};

/* The host's configuration of one plugin (overrides.c). */
typedef struct override {
  char *plugin;
  lplug_value *values;        /* key -> value */
  lplug_value *origins;       /* key -> "file:line:col", or NULL */
} override;

typedef struct event {
  char *topic;                /* topic and source in one allocation */
  size_t tlen;                /* strlen(topic), for e->qtopics */
  const char *source;         /* emitting plugin's name, or NULL */
  lplug_value *payload;
} event;

typedef struct subscription {
  long long id;
  char *pattern;
  plugin *plugin;             /* a plugin's handler, or ... */
  int ref;
  int once;
  lplug_event_fn fn;          /* ... a host callback */
  void *ud;
  int dead;                   /* unsubscribed while dispatching */
} subscription;

/* A delivery's walk over the subscriptions (events.c): at index i of the
** first n.  Compacting the array during a dispatch moves both. */
typedef struct events_walk {
  int i, n;
  struct events_walk *up;     /* the walk of an enclosing dispatch */
} events_walk;

struct lplug_engine {
  lplug_config config;        /* config.storage_path is storage_path */
  char *storage_path;         /* the host's, copied: it may free its own */
  watchdog *watchdog;         /* started with the first time-limited plugin */
  char errmsg[2048];
  plugin **plugins;
  int nplugins, cap;
  lplug_hook **buckets;
  unsigned nbuckets, nhooks;
  lplug_hook *first_hook, *last_hook;  /* in definition order */
  unsigned long long seq;
  lplug_value scratch;        /* results are encoded here, then swapped */
  /* events.c: a ring of queued events and the subscriptions */
  event *queue;
  int qcap, qhead, qlen;
  size_t qbytes;
  size_t qtopics;             /* bytes of the queued events' topics, and */
  size_t sub_patterns;        /* of the live subscriptions' patterns:
                                 what matching them costs (events.c) */
  unsigned long long emitted; /* events ever queued: marks for rollback */
  subscription *subs;        /* in id order: found by bisection */
  int nsubs, subcap, dispatching;
  long long next_sub;         /* the last id handed out: see add_sub */
  int subs_dead;              /* dead ones in subs, not yet compacted */
  events_walk *walks;         /* deliveries under way, innermost first */
  unsigned long long dispatches;  /* outermost lplug_dispatch calls */
  plugin **names;             /* names.c: plugins by name, open addressing */
  unsigned names_cap;         /* a power of two, or 0 */
  int conflicting;            /* loaded plugins declaring "! name" */
  int no_backstop;            /* config.time_limit was < 0 */
  storage *store;             /* opened by the first plugin using it */
  int calls;                  /* plugin calls running now (they nest) */
  int busy;                   /* loads, unloads, reloads, state changes and
                                 failure reports under way: they hold plugin
                                 pointers across the host's callbacks, so
                                 loads, unloads and reloads wait */
  plugin *reporting;          /* lifecycle.c: the plugin on_state is told
                                 about, found by name there even before
                                 it joins e->plugins */
  override *overrides;        /* overrides.c: per plugin name */
  int noverrides, overcap;
};

/* Refuses operation `op` inside a plugin call: LPLUG_ESTATE, message set
** (engine.c). */
int engine_refuse_in_call(lplug_engine *e, const char *op);

/* n bytes for messages: "4 MB", "256 KB" or "1000 bytes". */
const char *engine_size_text(size_t n, char *buf, size_t size);

/* Sets the engine's message (printf-style); returns code. */
int engine_error(lplug_engine *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

/* names.c: the loaded plugin named `name` (and its index, found by a
** scan: ask only when needed), or NULL.  add indexes p once it is in
** e->plugins; remove forgets p (taken out of e->plugins); replace puts p
** where old, of the same name, was; reset re-indexes them all. */
plugin *engine_find_plugin(const lplug_engine *e, const char *name,
                           int *index);
void names_add(lplug_engine *e, plugin *p);
void names_remove(lplug_engine *e, const plugin *p);
void names_replace(lplug_engine *e, const plugin *old, plugin *p);
void names_reset(lplug_engine *e);
void names_free(lplug_engine *e);

/* Tells the host's on_error about a failure whose message is the
** engine's: the host gets its own copies of it and of the traceback (a
** call it makes from the callback may run the plugin again), and the
** engine's message is the same after the callback, whatever the host
** called meanwhile (a call refused from the callback wrote its own). */
void engine_report(lplug_engine *e, const char *who, int code,
                   const char *traceback);

/* Sends a message to the host's log sink. */
void engine_log(lplug_engine *e, int level, const char *who,
                const char *message);

/* plugin.c */
int plugin_load(lplug_engine *e, const char *dir);
/* Same, with the manifest already read (taken: freed whatever happens)
** and, when the caller knows it, the folder's canonical path (`real`,
** what realpath(dir) would say; NULL: resolved here). */
int plugin_load_manifest(lplug_engine *e, const char *dir, const char *real,
                         manifest *m);
/* LPLUG_ESTATE with the message for op called while e->busy. */
int plugin_refuse_busy(lplug_engine *e, const char *op);
void plugin_free(plugin *p);
/* Counts and reports a failed call of p in `activity` ("hook 'record'"),
** composing the message from the sandbox's state; returns code. */
int plugin_fail(plugin *p, int code, const char *activity);
/* Runs f(ud) in p's state under its budgets, as part of `activity`
** ("hook 'record'").  When it succeeds, take(p, ud) reads and pops its
** nres results and may still fail the call (with engine_error set).  A
** failed call is counted and reported, and the events it emitted are
** dropped.  Returns LPLUG_OK or the failure's code. */
int plugin_call(plugin *p, lua_CFunction f, void *ud, int nres,
                int (*take)(plugin *p, void *ud), const char *activity);

/* plugin_call for a function and nargs arguments already pushed on p's
** state (see sandbox_pcall_pushed: values whose push cannot fail). */
int plugin_call_pushed(plugin *p, int nargs, int nres,
                       int (*take)(plugin *p, void *ud), void *ud,
                       const char *activity);

/* The steps of plugin_load, for reload: build makes p from the folder
** (manifest -- m when already read, taken --, limits, state; `replacing`
** is the plugin it will replace, or NULL; `real` as for
** plugin_load_manifest) without running code; start runs its main file
** and init, whose storage writes and events are undone when either
** fails. */
int plugin_build(lplug_engine *e, const char *dir, const char *real,
                 const plugin *replacing, manifest *m, plugin **out);
int plugin_start(plugin *p);

/* Runs callback `which` of p if it has one (LPLUG_OK if not) as a call of
** its own, with a copy of arg (NULL: none); when out is not NULL the
** callback's result is stored in it. */
int plugin_callback(plugin *p, int which, const lplug_value *arg,
                    lplug_value *out);

/* lifecycle.c: p moves to state `to`, which the host hears of (on_state,
** and an lplug.plugin.* event) with `reason`. */
void plugin_changed(plugin *p, int to, const char *reason);
/* Counts a failed call of p, one more in a row: safe mode may disable p
** (a call that succeeds sets p->failures back to 0). */
void plugin_count_failure(plugin *p);
/* Runs every plugin's shutdown, newest first (lplug_engine_free). */
void plugin_shutdown_all(lplug_engine *e);

/* events.c */
/* A mark to roll the queue back to: inline, read on every plugin call
** (as a call into events.c it cost 3 of 906 Ir in hook_int). */
static inline unsigned long long events_mark(const lplug_engine *e) {
  return e->emitted;
}
void events_rollback(lplug_engine *e, unsigned long long mark,
                     const char *source);
void events_drop_plugin(lplug_engine *e, plugin *p);
/* Turns off p's subscriptions from id `from` on. */
void events_drop_since(lplug_engine *e, plugin *p, long long from);
void events_free_all(lplug_engine *e);

/* overrides.c */
/* Makes p's effective configuration (p->config) from its manifest and
** the host's overrides; on failure sets the engine's message, naming p. */
int overrides_apply(plugin *p);
void overrides_free_all(lplug_engine *e);

/* deps.c */
typedef struct deps_set deps_set;
/* Whether m may load now: its lplug: range takes this engine's version;
** each plugin it needs (and each optional one present) is loaded in a
** version its range takes; nothing it declares incompatible is loaded or
** waiting in `set` (NULL when loading one plugin), and no loaded plugin
** declares it incompatible.  A dependency that failed in `set` fails m,
** naming it and why.  Returns LPLUG_OK, or LPLUG_EDEPEND with the
** engine's message set (LPLUG_ENOMEM likewise). */
int deps_check(lplug_engine *e, const manifest *m, const deps_set *set);

/* For a reload: whether every loaded plugin that depends on m's name
** accepts m's version.  LPLUG_OK, or LPLUG_EDEPEND naming the one that
** does not. */
int deps_check_dependents(lplug_engine *e, const manifest *m);

/* Whether m declares some plugin incompatible ("! name"); the engine
** counts loaded plugins that do in e->conflicting. */
int deps_conflicts(const manifest *m);

/* hook.c */
void hook_drop_plugin(lplug_engine *e, plugin *p);
/* Turns off p's handlers registered from seq `from` on. */
void hook_drop_since(lplug_engine *e, plugin *p, unsigned long long from);
void hook_free_all(lplug_engine *e);

#endif
