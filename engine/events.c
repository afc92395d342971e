/*
** events.c -- the event bus: a bounded queue of copied payloads, and the
** subscriptions of plugins and of the host.
**
** Emitting only queues (a copy, in host memory, bounded by count and
** bytes: when full, emit fails; nothing grows without bound or is dropped
** silently).  lplug_dispatch delivers in emit order, so each emitter's
** events arrive in the order it sent them.  A plugin subscriber runs in
** its own state under its own budgets (plugin_call); its failure is its
** own and delivery goes on.  The queue is a ring; `emitted` counts every
** event ever queued so that a failed call can take back exactly the
** events it queued (they are the newest, since calls do not nest).
**
** Each queued event is one allocation (event.topic points at its start):
** the topic, the label "event 'topic'" that a subscriber's failure
** message names, the source, then the payload's value and its bytes.
** Emitting is one malloc and one copy; delivering formats nothing.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/grow.h"
#include "engine/engine.h"
#include "engine/value_lua.h"

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* ---- topics ------------------------------------------------------------- */

int events_valid(const char *t, int pattern) {
  size_t n = 0, word = 0;
  if (t == NULL) return 0;
  if (pattern && strcmp(t, "*") == 0) return 1;
  for (; t[n]; n++) {
    char c = t[n];
    if (c == '.') {
      if (word == 0) return 0;
      word = 0;
    } else if (c == '*') {
      /* a whole word only, in patterns */
      if (!pattern || word != 0 || (t[n + 1] != '.' && t[n + 1] != '\0'))
        return 0;
      word++;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':') {
      word++;
    } else {
      return 0;
    }
  }
  return word > 0 && n <= LPLUG_MAX_TOPIC;
}

int events_match(const char *p, const char *t) {
  if (strcmp(p, "*") == 0) return 1;
  for (;;) {
    size_t pw = strcspn(p, "."), tw = strcspn(t, ".");
    if (pw == 1 && p[0] == '*') {
      if (p[1] == '\0') return tw > 0;  /* last: one or more words */
    } else if (pw != tw || memcmp(p, t, pw) != 0) {
      return 0;
    }
    p += pw;
    t += tw;
    if (*p == '\0' || *t == '\0') return *p == *t;
    p++;
    t++;
  }
}

/* What lplug_dispatch's matching of one event against one subscription
** costs, in instructions: events_match walks both names word by word,
** about 3.5 ns a byte (450 ns for two names of 64 one-letter words).
** Whichever of the two came second pays for the pair, so that every
** pair a dispatch will match was paid for: an emit for the subscriptions
** live now, a subscription for the events queued now.  Uncharged, a
** plugin with 256 subscriptions of 128 bytes that filled the queue with
** 10,000 events whose topics nearly matched them (1.1M instructions)
** made the next dispatch take 1.15 s. */
#define MATCH_PAIR_BYTES 16          /* a pair of the shortest names */
#define MATCH_BYTES_PER_INSTRUCTION 4

long long events_emit_match_cost(const plugin *p, size_t topic_len) {
  const lplug_engine *e = p->engine;
  unsigned long long live = (unsigned long long)(e->nsubs - e->subs_dead);
  return (long long)((live * (MATCH_PAIR_BYTES + topic_len) +
                      e->sub_patterns) / MATCH_BYTES_PER_INSTRUCTION);
}

long long events_on_match_cost(const plugin *p, size_t pattern_len) {
  const lplug_engine *e = p->engine;
  unsigned long long queued = (unsigned long long)e->qlen;
  return (long long)((queued * (MATCH_PAIR_BYTES + pattern_len) +
                      e->qtopics) / MATCH_BYTES_PER_INSTRUCTION);
}

/* ---- the queue -------------------------------------------------------- */

static event *slot(lplug_engine *e, int i) {
  return &e->queue[(e->qhead + i) % e->qcap];
}

static void event_free(event *ev) {
  free(ev->topic);  /* the whole block, payload included */
}

static size_t payload_bytes(const lplug_value *v) {
  size_t n;
  lplug_value_bytes(v, &n);
  return n;
}

/* The label of a delivery, for plugin_call's failure messages: made at
** emit, right after the topic in the event's block. */
static const char *activity(const event *ev) {
  return ev->topic + strlen(ev->topic) + 1;
}

/* Queues topic with a copy of the payload's `len` encoded bytes (the
** caller checked them); source may be NULL.  The block is
**   topic NUL "event 'topic'" NUL [source NUL] pad lplug_value bytes */
static int push(lplug_engine *e, const char *topic, const unsigned char *bytes,
                size_t len, const char *source) {
  static const unsigned char nil = VALUE_NIL;
  size_t tlen = strlen(topic), slen = source ? strlen(source) + 1 : 0;
  size_t text = tlen + 1 + (sizeof "event ''" - 1) + tlen + 1 + slen;
  size_t at = (text + _Alignof(lplug_value) - 1) /
              _Alignof(lplug_value) * _Alignof(lplug_value);
  lplug_value *v;
  event *ev;
  char *block, *q;
  if (len == 0) {  /* NULL payload: nil */
    bytes = &nil;
    len = 1;
  }
  if (e->qlen >= e->config.event_queue ||
      len > e->config.event_queue_bytes - e->qbytes)
    return LPLUG_EFULL;
  if (e->qlen == e->qcap) {  /* grow the ring, unwrapping it */
    int cap = e->qcap ? e->qcap * 2 : 64, i;
    event *ring = malloc((size_t)cap * sizeof *ring);
    if (ring == NULL) return LPLUG_ENOMEM;
    for (i = 0; i < e->qlen; i++) ring[i] = *slot(e, i);
    free(e->queue);
    e->queue = ring;
    e->qcap = cap;
    e->qhead = 0;
  }
  if ((block = malloc(at + sizeof *v + len)) == NULL) return LPLUG_ENOMEM;
  q = block;
  memcpy(q, topic, tlen + 1);
  q += tlen + 1;
  memcpy(q, "event '", 7);
  memcpy(q + 7, topic, tlen);
  memcpy(q + 7 + tlen, "'", 2);
  q += 7 + tlen + 2;
  v = (lplug_value *)(void *)(block + at);
  v->bytes = (unsigned char *)(v + 1);
  v->len = v->cap = len;
  memcpy(v->bytes, bytes, len);
  ev = slot(e, e->qlen);
  ev->topic = block;
  ev->tlen = tlen;
  ev->source = NULL;
  if (source) {
    memcpy(q, source, slen);
    ev->source = q;
  }
  ev->payload = v;  /* read only: never grown, freed with the block */
  e->qlen++;
  e->qbytes += len;
  e->qtopics += tlen;
  e->emitted++;
  return LPLUG_OK;
}

int events_emit_from(plugin *p, const char *topic, lplug_value *payload) {
  int rc = push(p->engine, topic, payload->bytes, payload->len, p->name);
  if (rc == LPLUG_EFULL && payload->len > p->engine->config.event_queue_bytes)
    rc = LPLUG_EVALUE;  /* not back-pressure: it never fits */
  lplug_value_free(payload);
  return rc;
}

/* EINVAL for a topic or pattern events_valid refused, saying why: too
** long, or else against `rule`. */
static int bad_topic(lplug_engine *e, const char *what, const char *t,
                     const char *rule) {
  if (t != NULL && strlen(t) > LPLUG_MAX_TOPIC)
    return engine_error(e, LPLUG_EINVAL, "%s '%.32s...' is %zu bytes long "
                        "(at most %d)", what, t, strlen(t), LPLUG_MAX_TOPIC);
  return engine_error(e, LPLUG_EINVAL, "%s '%s' is invalid%s", what,
                      t ? t : "(null)", rule);
}

int lplug_event_emit(lplug_engine *e, const char *topic,
                     const lplug_value *payload) {
  int rc;
  if (e == NULL) return LPLUG_EINVAL;
  if (!events_valid(topic, 0))
    return bad_topic(e, "event topic", topic, " (dot-separated words "
                     "of A-Z a-z 0-9 _ - :)");
  rc = payload ? push(e, topic, payload->bytes, payload->len, NULL)
               : push(e, topic, NULL, 0, NULL);
  if (rc == LPLUG_EFULL && payload &&
      payload->len > e->config.event_queue_bytes)
    return engine_error(e, rc, "event payload of %zu bytes is larger than "
                        "the whole event queue allows (event_queue_bytes: "
                        "%zu): it can never be queued", payload->len,
                        e->config.event_queue_bytes);
  if (rc == LPLUG_EFULL)
    return engine_error(e, rc, "event queue is full (%d events, %zu bytes "
                        "queued; lplug_dispatch delivers them)", e->qlen,
                        e->qbytes);
  if (rc != LPLUG_OK) return engine_error(e, rc, "out of memory");
  return LPLUG_OK;
}

int lplug_event_pending(const lplug_engine *e) { return e ? e->qlen : 0; }

/* Drops what plugin `source` emitted since mark (a failed call's events).
** The others emitted meanwhile stay, in order: the host's, from callbacks
** it got during the call, and other plugins' from calls that succeeded
** inside it (all went with the failed call before). */
void events_rollback(lplug_engine *e, unsigned long long mark,
                     const char *source) {
  unsigned long long newer;
  int first, i, keep;
  if (e->emitted <= mark) return;
  newer = e->emitted - mark;
  first = newer < (unsigned long long)e->qlen ? e->qlen - (int)newer : 0;
  for (i = keep = first; i < e->qlen; i++) {
    event *ev = slot(e, i);
    if (ev->source != NULL && strcmp(ev->source, source) == 0) {
      e->qbytes -= payload_bytes(ev->payload);
      e->qtopics -= ev->tlen;
      event_free(ev);
      e->emitted--;
    } else {
      if (keep != i) *slot(e, keep) = *ev;
      keep++;
    }
  }
  e->qlen = keep;
}

/* ---- subscriptions ---------------------------------------------------- */

/* A new subscription's id.  Ids only grow (find_sub relies on it) and
** are never reused, and a plugin can spend them without end
** (events.on(...):off() in a loop, millions a second: an int ran out in
** about 15 minutes), so they are 64-bit: at that pace, 100,000 years. */
static long long add_sub(lplug_engine *e, const char *pattern,
                         subscription **out) {
  subscription *s;
  if (!grow(&e->subs, &e->subcap, e->nsubs, sizeof *e->subs, 16))
    return LPLUG_ENOMEM;
  s = &e->subs[e->nsubs];
  memset(s, 0, sizeof *s);
  if ((s->pattern = strdup(pattern)) == NULL) return LPLUG_ENOMEM;
  s->id = ++e->next_sub;
  s->ref = LUA_NOREF;
  e->nsubs++;
  e->sub_patterns += strlen(pattern);
  *out = s;
  return s->id;
}

long long events_subscribe_plugin(plugin *p, const char *pattern, int ref,
                                  int once) {
  subscription *s;
  long long id;
  if (p->subscriptions >= EVENTS_MAX_PER_PLUGIN) return LPLUG_EINVAL;
  if ((id = add_sub(p->engine, pattern, &s)) < 0) return id;
  p->subscriptions++;
  if (p->subs_call != p->stats.calls + 1) {  /* this call's first */
    p->subs_call = p->stats.calls + 1;
    p->subs_from = id;
  }
  s->plugin = p;
  s->ref = ref;
  s->once = once;
  return id;
}

long long lplug_event_subscribe(lplug_engine *e, const char *pattern,
                                lplug_event_fn fn, void *ud) {
  subscription *s;
  long long id;
  if (e == NULL) return LPLUG_EINVAL;
  if (fn == NULL)
    return engine_error(e, LPLUG_EINVAL, "lplug_event_subscribe: no "
                        "function given (fn is NULL)");
  if (!events_valid(pattern, 1))
    return bad_topic(e, "event pattern", pattern, "");
  id = add_sub(e, pattern, &s);
  if (id < 0) return engine_error(e, (int)id, "out of memory");
  s->fn = fn;
  s->ud = ud;
  return id;
}

/* Where entry `k` of the array will be once the dead are dropped: the
** live ones before it. */
static int live_before(const lplug_engine *e, int k) {
  int i, n = k;
  for (i = 0; i < k; i++) n -= e->subs[i].dead;
  return n;
}

/* Drops the subscriptions marked dead.  Outside a dispatch at once;
** during one (handlers may turn subscriptions on and off without end:
** events.on(...):off() in a loop) once the dead outnumber the live, so
** that the array stays within twice the live ones and each kill costs
** O(1) amortized.  The walks under way move with their entries: each
** goes on after the last live entry it has passed, over the live ones
** of those it was to visit. */
static void compact(lplug_engine *e) {
  events_walk *w;
  int i, j = 0;
  if (e->subs_dead == 0 || (e->dispatching && 2 * e->subs_dead <= e->nsubs))
    return;
  for (w = e->walks; w != NULL; w = w->up) {
    w->i = live_before(e, w->i + 1) - 1;
    w->n = live_before(e, w->n);
  }
  for (i = 0; i < e->nsubs; i++) {
    if (e->subs[i].dead) free(e->subs[i].pattern);
    else e->subs[j++] = e->subs[i];
  }
  e->nsubs = j;
  e->subs_dead = 0;
}

static void kill_sub(lplug_engine *e, subscription *s) {
  if (s->plugin) s->plugin->subscriptions--;
  if (s->plugin && s->ref != LUA_NOREF)
    luaL_unref(s->plugin->sb.L, LUA_REGISTRYINDEX, s->ref);
  s->ref = LUA_NOREF;
  s->dead = 1;
  e->subs_dead++;
  e->sub_patterns -= strlen(s->pattern);
}

/* The live subscription `id`, or NULL.  Ids only grow and compacting
** keeps the order, so the array is sorted by id. */
static subscription *find_sub(lplug_engine *e, long long id) {
  int lo = 0, hi = e->nsubs;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (e->subs[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  if (lo < e->nsubs && e->subs[lo].id == id && !e->subs[lo].dead)
    return &e->subs[lo];
  return NULL;
}

int lplug_event_unsubscribe(lplug_engine *e, long long id) {
  subscription *s;
  if (e == NULL) return LPLUG_EINVAL;
  if ((s = find_sub(e, id)) == NULL || s->plugin != NULL)
    return engine_error(e, LPLUG_ENOTFOUND, "lplug_event_unsubscribe: no "
                        "subscription %lld of the host's", id);
  kill_sub(e, s);
  compact(e);
  return LPLUG_OK;
}

int events_unsubscribe_plugin(plugin *p, long long id) {
  subscription *s = find_sub(p->engine, id);
  if (s == NULL || s->plugin != p) return 0;
  kill_sub(p->engine, s);
  compact(p->engine);
  return 1;
}

void events_drop_since(lplug_engine *e, plugin *p, long long from) {
  int i;
  for (i = 0; i < e->nsubs; i++)
    if (e->subs[i].plugin == p && e->subs[i].id >= from && !e->subs[i].dead)
      kill_sub(e, &e->subs[i]);
  compact(e);
}

void events_drop_plugin(lplug_engine *e, plugin *p) {
  events_drop_since(e, p, 0);
}

void events_free_all(lplug_engine *e) {
  int i;
  for (i = 0; i < e->qlen; i++) event_free(slot(e, i));
  free(e->queue);
  for (i = 0; i < e->nsubs; i++) free(e->subs[i].pattern);
  free(e->subs);
}

/* ---- delivery --------------------------------------------------------- */

typedef struct delivery {
  int ref;
  const event *ev;
} delivery;

/* Runs inside the subscriber's protected call: fn(payload, topic).  The
** subscriber pays for its copy of the payload, as for any value it asks
** for: the emitter paid once for a payload that every subscription is
** given anew (256 of them, each a copy of 30,000 tables, made one
** lplug_dispatch 0.34 s per event, uncounted; now they count toward the
** subscriber's budget and its LPLUG_DISPATCH_BUDGETS allowance). */
static int call_subscriber(lua_State *L) {
  const delivery *d = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, d->ref);
  budget_charge(L, (long long)(value_push_lua(L, d->ev->payload, 0) /
                               PLUGIN_BYTES_PER_INSTRUCTION));
  lua_pushstring(L, d->ev->topic);
  lua_call(L, 2, 0);
  return 0;
}

/* p's allowance for one dispatch: LPLUG_DISPATCH_BUDGETS times its
** per-call budget (instructions, or ns in deadline mode); 0: none. */
static long long allowance(const plugin *p) {
  long long budget = p->sb.config.instruction_limit
                         ? p->sb.config.instruction_limit
                         : p->sb.config.time_limit;
  if (budget > LLONG_MAX / LPLUG_DISPATCH_BUDGETS) return LLONG_MAX;
  return budget * LPLUG_DISPATCH_BUDGETS;
}

/* "10000000 instructions", "50 ms": p's per-call budget, for messages. */
static const char *budget_text(const plugin *p, char *buf, size_t size) {
  long long ns = p->sb.config.time_limit;
  if (p->sb.config.instruction_limit)
    snprintf(buf, size, "%lld instructions", p->sb.config.instruction_limit);
  else if (ns % 1000000 == 0) snprintf(buf, size, "%lld ms", ns / 1000000);
  else if (ns % 1000 == 0) snprintf(buf, size, "%lld us", ns / 1000);
  else snprintf(buf, size, "%lld ns", ns);
  return buf;
}

/* p's handlers have spent their allowance: the first delivery refused in
** this dispatch is reported as a CPU-limit failure of p (safe mode counts
** it), the others silently.  Out of line: the normal path never comes. */
static NOINLINE void refuse(lplug_engine *e, plugin *p, const event *ev) {
  char b[64];
  if (p->events_stopped) return;
  p->events_stopped = 1;
  p->stats.errors++;
  p->stats.cpu_errors++;
  engine_error(e, LPLUG_ECPU, "plugin '%s': its event handlers spent %d "
               "times its per-call budget of %s in one lplug_dispatch "
               "(LPLUG_DISPATCH_BUDGETS); event '%s' and the rest of this "
               "dispatch's events are not delivered to it", p->name,
               LPLUG_DISPATCH_BUDGETS, budget_text(p, b, sizeof b),
               ev->topic);
  e->busy++;  /* on_error and on_state must not unload p under us */
  engine_report(e, p->name, LPLUG_ECPU, "");
  plugin_count_failure(p);
  e->busy--;
}

/* Calls p's subscription `ref` with ev, unless p's handlers have spent
** their allowance in this dispatch; counts what the call spent.  A call
** may run up to a block of instructions uncounted (stats.instructions),
** so each counts a block more: an upper bound, which also bounds the
** number of tiny calls. */
static void deliver_to(lplug_engine *e, plugin *p, int ref, const event *ev) {
  delivery d;
  unsigned long long counted = p->stats.instructions;
  long long most;
  double began = 0;
  if (p->events_dispatch != e->dispatches) {  /* its first in this one */
    p->events_dispatch = e->dispatches;
    p->events_spent = 0;
    p->events_stopped = 0;
  }
  most = allowance(p);
  if (p->events_spent >= most && most > 0) {
    refuse(e, p, ev);
    return;
  }
  d.ref = ref;
  d.ev = ev;
  if (!p->sb.config.instruction_limit) began = plugin_monotonic();
  plugin_call(p, call_subscriber, &d, 0, NULL, activity(ev));
  if (p->sb.config.instruction_limit)
    p->events_spent += (long long)(p->stats.instructions - counted) +
                       LPLUG_INSTRUCTION_BLOCK;
  else
    p->events_spent += (long long)((plugin_monotonic() - began) * 1e9);
}

static void deliver(lplug_engine *e, const event *ev) {
  events_walk w;  /* subscriptions made now wait for the next event */
  w.n = e->nsubs;
  w.up = e->walks;
  e->walks = &w;
  for (w.i = 0; w.i < w.n; w.i++) {
    subscription *s = &e->subs[w.i];
    long long id = s->id;
    int once = s->once;
    if (s->dead || !events_match(s->pattern, ev->topic) ||
        (s->plugin && s->plugin->state != LPLUG_STATE_ACTIVE))
      continue;
    if (s->fn) s->fn(s->ud, ev->topic, ev->payload, ev->source);
    else deliver_to(e, s->plugin, s->ref, ev);
    /* The array may have grown or been compacted meanwhile: w.i is where
    ** this one is now, or the live one before it if it is gone. */
    if (!once || w.i < 0) continue;
    s = &e->subs[w.i];
    if (s->id == id && !s->dead) {
      kill_sub(e, s);
      compact(e);
    }
  }
  e->walks = w.up;
}

int lplug_dispatch(lplug_engine *e, int max_events) {
  int n = 0, limit;
  if (e == NULL) return LPLUG_EINVAL;
  limit = max_events > 0 ? max_events : e->qlen;
  if (e->dispatching++ == 0) e->dispatches++;  /* a fresh allowance */
  while (n < limit && e->qlen > 0) {
    event ev = *slot(e, 0);  /* take it off first: handlers may emit */
    e->qhead = (e->qhead + 1) % e->qcap;
    e->qlen--;
    e->qbytes -= payload_bytes(ev.payload);
    e->qtopics -= ev.tlen;
    deliver(e, &ev);
    event_free(&ev);
    n++;
  }
  e->dispatching--;
  compact(e);
  return n;
}
