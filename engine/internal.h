/*
** internal.h -- what the stdlib modules may use of the engine.
*/
#ifndef LPLUG_INTERNAL_H
#define LPLUG_INTERNAL_H

#include <lua.h>
#include "lplug.h"

typedef struct plugin plugin;

/* The plugin a state belongs to. */
plugin *plugin_of(lua_State *L);
/* Instruction mode's wall-clock backstop for a budget of n instructions
** (lplug.h: 1 us each, at least 5 s). */
long long engine_backstop(long long n);
const char *plugin_name(const plugin *p);

/* Whether p may use `item` of capability `cap` (item NULL: the capability
** itself): its manifest must declare it (a list of names, "*" for all) and
** the host must grant it.  When not, raises an error on L naming the
** plugin, the capability and how to get it, prefixed with `what` (e.g.
** "require 'lplug.hooks'"), and counts a denial. */
void plugin_require(lua_State *L, plugin *p, const char *cap,
                    const char *item, const char *what);


/* A value and a text slot owned by p, for modules that build something
** outside Lua and then push it (a raised error cannot leak them). */
lplug_value *plugin_scratch(plugin *p);
char **plugin_text(plugin *p);

/* Most bytes a value leaving p may take once encoded. */
size_t plugin_max_value(const plugin *p);

/* What a module charges p's instruction budget for the bytes it copies
** or moves on p's behalf (budget_charge, sandbox/sandbox.h): one
** instruction per this many. */
#define PLUGIN_BYTES_PER_INSTRUCTION 8

/* Sends one message of p (lplug.log's, or a line print made) to the
** host's log sink, rate-limited: at most PLUGIN_LOG_BURST at once,
** refilled at PLUGIN_LOG_RATE per second; what is dropped is counted and
** said before a later message that passes, at most once a second. */
#define PLUGIN_LOG_BURST 100
#define PLUGIN_LOG_RATE 50.0
void plugin_log(plugin *p, int level, const char *message);

/* The sentinel hooks.STOP stands for (a light userdata of its address). */
extern const char hook_stop;

/* Ordering constraints of a handler: names of plugins whose handlers on
** the same hook point it must run before, and after. */
typedef struct hook_order {
  const char *const *before;
  int nbefore;
  const char *const *after;
  int nafter;
} hook_order;

/* Registers the function at the top of L (popped) on hook point `name`
** (the names in `order` are copied).  Returns LPLUG_OK and the handle in
** *seq and *hook, LPLUG_ENOTFOUND (no such hook point), LPLUG_ESTATE (the
** hook point is running), LPLUG_EINVAL (its constraints and those of the
** handlers registered contradict each other, or p has HOOK_MAX_PER_PLUGIN
** handlers on it already: err says which) or LPLUG_ENOMEM.  The handlers
** are ordered here, not when the hook runs; the work (copying the names,
** ordering) is charged to p's instruction budget first, which raises
** when it is spent. */
#define HOOK_MAX_PER_PLUGIN 16
int hook_add(plugin *p, const char *name, int priority,
             const hook_order *order, lplug_hook **hook,
             unsigned long long *seq, char *err, size_t errsize);

/* Turns off handler `seq` of hook; returns 1 if it was on. */
int hook_off(lplug_hook *hook, unsigned long long seq);

/* Names of defined hook points, "a, b", for messages. */
void hook_names(const plugin *p, char *out, size_t n);

/* The modules, opened for the running plugin once granted. */
int luaopen_lplug_hooks(lua_State *L);
int luaopen_lplug_log(lua_State *L);
int luaopen_lplug_time(lua_State *L);
int luaopen_lplug_json(lua_State *L);

/* Whether `topic` (or, with pattern set, a pattern) is well formed. */
int events_valid(const char *topic, int pattern);

/* Whether topic matches pattern (see "Events" in lplug.h). */
int events_match(const char *pattern, const char *topic);

/* What matching at dispatch costs, in instructions (events.c): an event
** of topic_len bytes against the live subscriptions, and a subscription
** of pattern_len bytes against the queued events, in p's engine.
** events.emit and events.on charge it. */
long long events_emit_match_cost(const plugin *p, size_t topic_len);
long long events_on_match_cost(const plugin *p, size_t pattern_len);

/* Queues an event from p: takes `payload` (freed on failure too).
** Returns LPLUG_OK, LPLUG_EFULL, LPLUG_EVALUE (the payload alone is
** larger than the queue's bytes: it never fits) or LPLUG_ENOMEM. */
int events_emit_from(plugin *p, const char *topic, lplug_value *payload);

/* Subscribes p's function (registry ref) to pattern; returns the id
** (> 0), LPLUG_EINVAL when p has EVENTS_MAX_PER_PLUGIN subscriptions
** already, or LPLUG_ENOMEM. */
#define EVENTS_MAX_PER_PLUGIN 256
long long events_subscribe_plugin(plugin *p, const char *pattern, int ref,
                            int once);

/* Ends p's subscription id; 1 if it was on. */
int events_unsubscribe_plugin(plugin *p, long long id);

int luaopen_lplug_events(lua_State *L);

/* The engine's storage when p may use it, else NULL. */
struct storage *plugin_storage(plugin *p);
int luaopen_lplug_storage(lua_State *L);
/* p's effective configuration: a table of key -> value, checked against
** its manifest's schema when it loaded (engine/config.h). */
const lplug_value *plugin_config(const plugin *p);
int luaopen_lplug_config(lua_State *L);

/* Seconds on a clock that never goes back (CLOCK_MONOTONIC). */
double plugin_monotonic(void);

#endif
