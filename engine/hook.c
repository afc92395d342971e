/*
** hook.c -- hook points and running their handlers.
**
** Hook points live in a hash table (lookup by name is O(1)); each keeps
** its handlers sorted by priority (higher first), then registration.
** Running a hook copies the value into each handler's state (decoded
** inside the protected call, so the plugin's memory limit covers it),
** and copies a returned value back out with raw reads only.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/engine.h"
#include "engine/value_lua.h"

const char hook_stop = 0;

#define MAX_NAME 64

static unsigned hash_name(const char *s) {
  unsigned h = 2166136261u;  /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static int valid_name(const char *s) {
  size_t n = 0;
  for (; s[n]; n++) {
    char c = s[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
          c == '-'))
      return 0;
  }
  return n > 0 && n <= MAX_NAME;
}

lplug_hook *lplug_hook_find(lplug_engine *e, const char *name) {
  lplug_hook *h;
  unsigned hash;
  if (e == NULL || name == NULL || e->nbuckets == 0) return NULL;
  hash = hash_name(name);
  for (h = e->buckets[hash & (e->nbuckets - 1)]; h; h = h->next)
    if (h->hash == hash && strcmp(h->name, name) == 0) return h;
  return NULL;
}

static int grow_buckets(lplug_engine *e) {
  unsigned n = e->nbuckets ? e->nbuckets * 2 : 16, i;
  lplug_hook **b = calloc(n, sizeof *b);
  if (b == NULL) return LPLUG_ENOMEM;
  for (i = 0; i < e->nbuckets; i++) {
    lplug_hook *h = e->buckets[i], *next;
    for (; h; h = next) {
      next = h->next;
      h->next = b[h->hash & (n - 1)];
      b[h->hash & (n - 1)] = h;
    }
  }
  free(e->buckets);
  e->buckets = b;
  e->nbuckets = n;
  return LPLUG_OK;
}

int lplug_hook_define(lplug_engine *e, const char *name, int flags,
                      lplug_hook **out) {
  lplug_hook *h;
  size_t len;
  if (e == NULL || name == NULL || !valid_name(name))
    return e ? engine_error(e, LPLUG_EINVAL, "hook name '%s' is invalid (1-64 "
                            "characters of A-Z a-z 0-9 _ . : -)",
                            name ? name : "(null)") : LPLUG_EINVAL;
  if (flags & ~LPLUG_HOOK_FAIL_CLOSED)
    return engine_error(e, LPLUG_EINVAL, "hook '%s': unknown flags %#x", name,
                        (unsigned)flags);
  if (lplug_hook_find(e, name))
    return engine_error(e, LPLUG_EEXIST, "hook '%s' is already defined", name);
  if (e->nhooks >= e->nbuckets && grow_buckets(e) != LPLUG_OK)
    return engine_error(e, LPLUG_ENOMEM, "out of memory defining hook");
  len = strlen(name);
  h = calloc(1, sizeof *h + len + 1);
  if (h == NULL)
    return engine_error(e, LPLUG_ENOMEM, "out of memory defining hook");
  memcpy(h->name, name, len + 1);
  snprintf(h->activity, sizeof h->activity, "hook '%s'", name);
  h->engine = e;
  h->flags = flags;
  h->hash = hash_name(name);
  h->next = e->buckets[h->hash & (e->nbuckets - 1)];
  e->buckets[h->hash & (e->nbuckets - 1)] = h;
  e->nhooks++;
  if (out) *out = h;
  return LPLUG_OK;
}

int lplug_hook_handlers(const lplug_hook *h) {
  int i, n = 0;
  for (i = 0; i < h->n; i++) n += h->handlers[i].ref != LUA_NOREF;
  return n;
}

void hook_names(const plugin *p, char *out, size_t n) {
  const lplug_engine *e = p->engine;
  size_t used = 0;
  unsigned i;
  out[0] = '\0';
  for (i = 0; i < e->nbuckets && used < n; i++) {
    const lplug_hook *h;
    for (h = e->buckets[i]; h && used < n; h = h->next)
      used += snprintf(out + used, n - used, "%s%s", used ? ", " : "",
                       h->name);
  }
  if (used == 0) snprintf(out, n, "none");
}

int hook_add(plugin *p, const char *name, int priority, lplug_hook **hook,
             unsigned long long *seq) {
  lplug_engine *e = p->engine;
  lua_State *L = p->sb.L;
  lplug_hook *h = lplug_hook_find(e, name);
  int i, ref;
  if (h == NULL) return LPLUG_ENOTFOUND;
  if (h->running) return LPLUG_ESTATE;
  if (h->n == h->cap) {
    int cap = h->cap ? h->cap * 2 : 4;
    handler *list = realloc(h->handlers, (size_t)cap * sizeof *list);
    if (list == NULL) return LPLUG_ENOMEM;
    h->handlers = list;
    h->cap = cap;
  }
  ref = luaL_ref(L, LUA_REGISTRYINDEX);  /* may raise: before any change */
  /* After every handler of higher or equal priority: ties keep order. */
  for (i = h->n; i > 0 && h->handlers[i - 1].priority < priority; i--)
    h->handlers[i] = h->handlers[i - 1];
  h->handlers[i].plugin = p;
  h->handlers[i].priority = priority;
  h->handlers[i].seq = *seq = ++e->seq;
  h->handlers[i].ref = ref;
  h->n++;
  *hook = h;
  return LPLUG_OK;
}

/* Drops the handlers turned off while the hook ran. */
static void compact(lplug_hook *h) {
  int i, j = 0;
  for (i = 0; i < h->n; i++)
    if (h->handlers[i].ref != LUA_NOREF) h->handlers[j++] = h->handlers[i];
  h->n = j;
  h->dead = 0;
}

int hook_off(lplug_hook *h, unsigned long long seq) {
  int i;
  for (i = 0; i < h->n; i++) {
    handler *hd = &h->handlers[i];
    if (hd->seq == seq && hd->ref != LUA_NOREF) {
      luaL_unref(hd->plugin->sb.L, LUA_REGISTRYINDEX, hd->ref);
      hd->ref = LUA_NOREF;
      h->dead = 1;
      if (!h->running) compact(h);
      return 1;
    }
  }
  return 0;
}

void hook_drop_plugin(lplug_engine *e, plugin *p) {
  unsigned i;
  for (i = 0; i < e->nbuckets; i++) {
    lplug_hook *h;
    for (h = e->buckets[i]; h; h = h->next) {
      int j;
      for (j = 0; j < h->n; j++)
        if (h->handlers[j].plugin == p) {
          h->handlers[j].ref = LUA_NOREF;  /* the state goes away whole */
          h->dead = 1;
        }
      if (h->dead && !h->running) compact(h);
    }
  }
}

void hook_free_all(lplug_engine *e) {
  unsigned i;
  for (i = 0; i < e->nbuckets; i++) {
    lplug_hook *h = e->buckets[i], *next;
    for (; h; h = next) {
      next = h->next;
      free(h->handlers);
      free(h);
    }
  }
  free(e->buckets);
}

typedef struct call {
  lplug_hook *hook;
  const handler *handler;
  lplug_value *value;         /* in: the value; out: the result */
  int stop;
} call;

/* Runs inside the plugin's protected call: handler(copy of value). */
static int call_handler(lua_State *L) {
  const call *c = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->handler->ref);
  value_push_lua(L, c->value, 0);
  lua_call(L, 1, 2);
  return 2;
}

/* Takes the handler's results (top two slots): stores a returned value
** in the call's value and tells whether the chain stops.  Called for
** every handler: the usual results (nothing, an integer) are read without
** the general encoder. */
static int take_result(plugin *p, void *ud) {
  call *c = ud;
  lplug_engine *e = p->engine;
  lua_State *L = p->sb.L;
  int rc = LPLUG_OK, second = lua_type(L, -1), first = lua_type(L, -2);
  char err[512];
  if (second == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == &hook_stop) {
    c->stop = 1;                                       /* value, STOP */
  } else if (first == LUA_TLIGHTUSERDATA &&
             lua_touserdata(L, -2) == &hook_stop) {
    c->stop = 1;                                       /* STOP */
    first = LUA_TNIL;
  }
  if (first == LUA_TNUMBER) {
    int isint;
    lua_Integer n = lua_tointegerx(L, -2, &isint);
    if (isint && value_set_integer(c->value, n) == LPLUG_OK) first = LUA_TNIL;
  }
  if (first != LUA_TNIL) {
    rc = value_from_lua(L, -2, &e->scratch, "value", plugin_max_value(p), err,
                        sizeof err);
    if (rc == LPLUG_OK) {
      value_swap(c->value, &e->scratch);
    } else {
      c->stop = 0;
      engine_error(e, rc, "plugin '%s': hook '%s' returned a value that "
                   "cannot leave the plugin: %s", p->name, c->hook->name, err);
      if (rc != LPLUG_ENOMEM) rc = LPLUG_EVALUE;
    }
  }
  lua_settop(L, -3);
  return rc;
}

static int run_handler(lplug_hook *h, handler *hd, lplug_value *v, int *stop) {
  lua_State *L = hd->plugin->sb.L;
  call c;
  int rc;
  c.hook = h;
  c.handler = hd;
  c.value = v;
  c.stop = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, hd->ref);
  if (value_push_scalar(L, v)) {
    /* A scalar pushes without allocating: call the handler directly. */
    rc = plugin_call_pushed(hd->plugin, 1, 2, take_result, &c, h->activity);
  } else {
    lua_settop(L, -2);
    rc = plugin_call(hd->plugin, call_handler, &c, 2, take_result,
                     h->activity);
  }
  *stop = c.stop;
  return rc;
}

int lplug_hook_call(lplug_hook *h, lplug_value *v) {
  int i, rc = LPLUG_OK, stop = 0;
  if (h == NULL || v == NULL) return LPLUG_EINVAL;
  h->running++;
  for (i = 0; i < h->n && !stop; i++) {
    handler *hd = &h->handlers[i];
    int code;
    if (hd->ref == LUA_NOREF ||  /* turned off during this run */
        hd->plugin->state != LPLUG_STATE_ACTIVE)  /* disabled, loading */
      continue;
    code = run_handler(h, hd, v, &stop);
    if (code != LPLUG_OK && (h->flags & LPLUG_HOOK_FAIL_CLOSED)) {
      rc = code;
      break;
    }
  }
  if (--h->running == 0 && h->dead) compact(h);
  return rc;
}

int lplug_hook_run(lplug_engine *e, const char *name, lplug_value *v) {
  lplug_hook *h = lplug_hook_find(e, name);
  if (h == NULL) {
    if (e == NULL) return LPLUG_EINVAL;
    return engine_error(e, LPLUG_ENOTFOUND, "no hook point named '%s'",
                        name ? name : "(null)");
  }
  return lplug_hook_call(h, v);
}
