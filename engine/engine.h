/*
** engine.h -- the engine's internal structures, shared by the engine/ sources.
** stdlib/ sees only engine/internal.h.
*/
#ifndef LPLUG_ENGINE_H
#define LPLUG_ENGINE_H

#include "lplug.h"
#include "engine/internal.h"
#include "engine/manifest.h"
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
} handler;

struct lplug_hook {
  lplug_engine *engine;
  lplug_hook *next;           /* in its hash bucket */
  unsigned hash;
  int flags;
  handler *handlers;          /* sorted: priority desc, then seq */
  int n, cap;
  int running;                /* runs in progress (handlers may nest) */
  int dead;                   /* handlers turned off during a run */
  char activity[80];          /* "hook 'name'", for failure messages: made
                                 once, not on every call */
  char name[];
};

struct plugin {
  lplug_engine *engine;
  manifest *m;
  const char *name;           /* m->name */
  char *dir;                  /* realpath of the folder */
  sandbox sb;
  lplug_stats stats;
  int compiled;               /* main file compiled (tells ELOAD apart) */
  lplug_value scratch;        /* reused by modules; owned here so that a
                                 Lua error cannot leak it */
  char *text;                 /* likewise, for text made outside Lua */
  double log_tokens;          /* lplug.log rate limit (plugin_log) */
  double log_refilled;        /* monotonic seconds of the last refill */
  unsigned long long log_dropped;
};

typedef struct event {
  char *topic;                /* topic and source in one allocation */
  const char *source;         /* emitting plugin's name, or NULL */
  lplug_value *payload;
} event;

typedef struct subscription {
  int id;
  char *pattern;
  plugin *plugin;             /* a plugin's handler, or ... */
  int ref;
  int once;
  lplug_event_fn fn;          /* ... a host callback */
  void *ud;
  int dead;                   /* unsubscribed while dispatching */
} subscription;

struct lplug_engine {
  lplug_config config;
  char errmsg[2048];
  plugin **plugins;
  int nplugins, cap;
  lplug_hook **buckets;
  unsigned nbuckets, nhooks;
  unsigned long long seq;
  lplug_value scratch;        /* results are encoded here, then swapped */
  /* events.c: a ring of queued events and the subscriptions */
  event *queue;
  int qcap, qhead, qlen;
  size_t qbytes;
  unsigned long long emitted; /* events ever queued: marks for rollback */
  subscription *subs;
  int nsubs, subcap, next_sub, dispatching, subs_dead;
};

/* Sets the engine's message (printf-style); returns code. */
int engine_error(lplug_engine *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

/* Sends a message to the host's log sink. */
void engine_log(lplug_engine *e, int level, const char *who,
                const char *message);

/* plugin.c */
int plugin_load(lplug_engine *e, const char *dir);
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

/* events.c */
unsigned long long events_mark(const lplug_engine *e);
void events_rollback(lplug_engine *e, unsigned long long mark);
void events_drop_plugin(lplug_engine *e, plugin *p);
void events_free_all(lplug_engine *e);

/* hook.c */
void hook_drop_plugin(lplug_engine *e, plugin *p);
void hook_free_all(lplug_engine *e);

#endif
