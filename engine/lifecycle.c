/*
** lifecycle.c -- a plugin's states after loading: disable and enable,
** safe mode, unload, and reload without downtime.
**
** Only ACTIVE plugins run: hook runs and event deliveries skip the others
** (hook.c, events.c), which is what makes a disable instant and lets a
** reloading plugin's new version register its handlers before it is the
** one that runs.  Everything here refuses to run inside a plugin call:
** a host callback swapping plugins under a running hook could run a
** record twice or not at all.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"

const char *lplug_state_name(int state) {
  switch (state) {
    case LPLUG_STATE_LOADED: return "loaded";
    case LPLUG_STATE_ACTIVE: return "active";
    case LPLUG_STATE_FAILED: return "failed";
    case LPLUG_STATE_DISABLED: return "disabled";
    case LPLUG_STATE_UNLOADED: return "unloaded";
    default: return "?";
  }
}

/* Publishes lplug.plugin.<what> {name, version, reason}; a full queue or
** no memory only costs the event, and the engine's message is kept. */
static void publish(plugin *p, const char *what, const char *reason) {
  lplug_engine *e = p->engine;
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  /* Only the message's own bytes: the whole buffer was two 2 KB copies
  ** per plugin loaded. */
  size_t keep = strlen(e->errmsg) + 1;
  char msg[sizeof e->errmsg], topic[64];
  memcpy(msg, e->errmsg, keep);
  lplug_build_table(b);
  lplug_build_string(b, "name", 4);
  lplug_build_string(b, p->name, strlen(p->name));
  lplug_build_string(b, "version", 7);
  lplug_build_string(b, p->m->version, strlen(p->m->version));
  lplug_build_string(b, "reason", 6);
  lplug_build_string(b, reason, strlen(reason));
  lplug_build_end(b);
  snprintf(topic, sizeof topic, "lplug.plugin.%s", what);
  if (v && lplug_builder_finish(b, v) == LPLUG_OK)
    lplug_event_emit(e, topic, v);
  memcpy(e->errmsg, msg, keep);
  lplug_value_free(v);
  lplug_builder_free(b);
}

/* Tells on_state about p (from -> to), with p findable by name meanwhile
** even before it joins the engine (see target). */
static void tell(plugin *p, int from, int to, const char *reason) {
  lplug_engine *e = p->engine;
  plugin *was = e->reporting;
  if (e->config.on_state == NULL) return;
  e->reporting = p;
  e->config.on_state(e->config.ud, p->name, from, to, reason);
  e->reporting = was;
}

/* Published before on_state: a host that changes the state again from
** on_state (re-enables what was just disabled) publishes that change
** after this one, in the order they happened.  Busy around both: the
** callers go on with p, so the host must not unload or reload it there. */
static void changed(plugin *p, int to, const char *topic, const char *reason) {
  lplug_engine *e = p->engine;
  int from = p->state;
  p->state = to;
  e->busy++;
  if (topic) publish(p, topic, reason);
  tell(p, from, to, reason);
  e->busy--;
}

void plugin_changed(plugin *p, int to, const char *reason) {
  static const char *const topics[] = {
    NULL, NULL, "loaded", "failed", "disabled", "unloaded"
  };
  if (to == LPLUG_STATE_LOADED) p->state = 0;  /* a new plugin */
  changed(p, to, topics[to], reason);
}

void plugin_count_failure(plugin *p) {
  lplug_engine *e = p->engine;
  char reason[sizeof e->errmsg + 256];
  if (p->state != LPLUG_STATE_ACTIVE || e->config.failure_limit < 0 ||
      ++p->failures < e->config.failure_limit)
    return;
  /* what it means first: a long last message cannot cut it off */
  snprintf(reason, sizeof reason, "plugin '%s' disabled after %d failed "
           "calls in a row: hook runs and events skip it until "
           "lplug_plugin_enable or a reload (the last: %s)", p->name,
           p->failures, e->errmsg);
  p->safe_mode = 1;
  changed(p, LPLUG_STATE_DISABLED, "disabled", reason);
  /* the engine's own message, not one the plugin logged */
  engine_log(e, LPLUG_LOG_ERROR, NULL, reason);
}

/* Whether p is the plugin on_state is being told about while it is not
** (or no longer) in the engine: a load's LOADED or FAILED report. */
static int reported_only(const lplug_engine *e, const char *name) {
  return e->reporting != NULL && name != NULL &&
         strcmp(e->reporting->name, name) == 0 &&
         engine_find_plugin(e, name, NULL) != e->reporting;
}

int lplug_plugin_state(const lplug_engine *e, const char *name) {
  const plugin *p = e ? engine_find_plugin(e, name, NULL) : NULL;
  if (p == NULL && e && reported_only(e, name)) p = e->reporting;
  return p ? p->state : LPLUG_ENOTFOUND;
}

/* The plugin named `name` for lifecycle operation `op`, or NULL with the
** engine's message set (*rc: LPLUG_ENOTFOUND, or LPLUG_ESTATE when
** `outside` -- the operation swaps plugins -- and a plugin call runs). */
static plugin *target(lplug_engine *e, const char *name, const char *op,
                      int outside, int *index, int *rc) {
  plugin *p;
  if (outside && e->calls > 0) {
    *rc = engine_error(e, LPLUG_ESTATE, "%s: called from inside a plugin "
                       "call (do it after the call returns)", op);
    return NULL;
  }
  if (outside && e->busy > 0) {
    *rc = plugin_refuse_busy(e, op);
    return NULL;
  }
  if ((p = engine_find_plugin(e, name, index)) != NULL) return p;
  if (reported_only(e, name) && e->reporting->state == LPLUG_STATE_LOADED)
    *rc = engine_error(e, LPLUG_ESTATE, "%s: plugin '%s' is still loading "
                       "(it can be changed once on_state reports it "
                       "active)", op, name);
  else
    *rc = engine_error(e, LPLUG_ENOTFOUND, "%s: no plugin named '%s' is "
                       "loaded", op, name ? name : "(null)");
  return NULL;
}

int lplug_plugin_disable(lplug_engine *e, const char *name) {
  int rc = LPLUG_OK;
  plugin *p;
  if (e == NULL) return LPLUG_EINVAL;
  if ((p = target(e, name, "lplug_plugin_disable", 0, NULL, &rc)) == NULL)
    return rc;
  p->safe_mode = 0;  /* the host's choice now: a reload keeps it */
  if (p->state == LPLUG_STATE_ACTIVE)
    changed(p, LPLUG_STATE_DISABLED, "disabled", "disabled by the host");
  return LPLUG_OK;
}

int lplug_plugin_enable(lplug_engine *e, const char *name) {
  int rc = LPLUG_OK;
  plugin *p;
  if (e == NULL) return LPLUG_EINVAL;
  if ((p = target(e, name, "lplug_plugin_enable", 0, NULL, &rc)) == NULL)
    return rc;
  p->failures = 0;
  p->safe_mode = 0;
  if (p->state == LPLUG_STATE_DISABLED)
    changed(p, LPLUG_STATE_ACTIVE, "enabled", "enabled by the host");
  return LPLUG_OK;
}

/* Runs p's shutdown; its failure is reported by plugin_call and changes
** nothing else: the plugin is going anyway. */
static void shut_down(plugin *p) {
  plugin_callback(p, PLUGIN_SHUTDOWN, NULL, NULL);
}

/* Takes p out of the engine (index i) and frees it. */
static void remove_plugin(lplug_engine *e, plugin *p, int i) {
  hook_drop_plugin(e, p);
  events_drop_plugin(e, p);
  memmove(&e->plugins[i], &e->plugins[i + 1],
          (size_t)(e->nplugins - i - 1) * sizeof *e->plugins);
  e->nplugins--;
  names_remove(e, p);
  e->conflicting -= deps_conflicts(p->m);
  plugin_free(p);
}

int lplug_plugin_unload(lplug_engine *e, const char *name) {
  int i, rc = LPLUG_OK;
  plugin *p;
  if (e == NULL) return LPLUG_EINVAL;
  if ((p = target(e, name, "lplug_plugin_unload", 1, &i, &rc)) == NULL)
    return rc;
  e->busy++;
  shut_down(p);
  changed(p, LPLUG_STATE_UNLOADED, "unloaded", "unloaded by the host");
  remove_plugin(e, p, i);
  e->busy--;
  return LPLUG_OK;
}

void plugin_shutdown_all(lplug_engine *e) {
  int i;
  for (i = e->nplugins - 1; i >= 0; i--) shut_down(e->plugins[i]);
}

/* The new version's part of a reload: start it, then hand it a copy of
** what the old version saves. */
static int take_over(plugin *old, plugin *p) {
  lplug_value *state = lplug_value_new();
  int rc;
  if (state == NULL) return engine_error(p->engine, LPLUG_ENOMEM, "out of "
                                         "memory reloading '%s'", p->name);
  rc = plugin_start(p);
  if (rc == LPLUG_OK) rc = plugin_callback(old, PLUGIN_SAVE, NULL, state);
  if (rc == LPLUG_OK) rc = plugin_callback(p, PLUGIN_RESTORE, state, NULL);
  lplug_value_free(state);
  return rc;
}

/* The engine's message, prefixed with what a failed reload means. */
static int reload_failed(lplug_engine *e, const char *name, int rc) {
  char msg[sizeof e->errmsg];
  snprintf(msg, sizeof msg, "%s", e->errmsg);
  return engine_error(e, rc, "reload of '%s' failed; the running version "
                      "stays: %s", name, msg);
}

/* Whether old's folder is still there; if not, says so to on_error under
** the plugin's name (plugin_build would name the folder, as for a new
** plugin that has no name yet). */
static int folder_gone(lplug_engine *e, const plugin *old) {
  struct stat st;
  int missing = stat(old->dir, &st) != 0;
  if (!missing && S_ISDIR(st.st_mode)) return 0;
  engine_error(e, LPLUG_EIO, "cannot open plugin folder '%s': %s", old->dir,
               missing ? strerror(errno) : "not a folder");
  engine_report(e, old->name, LPLUG_EIO, "");
  return 1;
}

/* lplug_reload of old (index i), busy throughout: the host's callbacks
** (grant, on_state, on_log, on_error) cannot unload or reload old. */
static int reload(lplug_engine *e, plugin *old, int i) {
  int rc, from, state;
  const char *name = old->name;
  unsigned long long mark;
  plugin *p;
  storage_frame frame;
  char reason[256];
  if (folder_gone(e, old)) return reload_failed(e, name, LPLUG_EIO);
  rc = plugin_build(e, old->dir, NULL, old, NULL, &p);
  if (rc != LPLUG_OK) return reload_failed(e, name, rc);
  if ((rc = deps_check_dependents(e, p->m)) != LPLUG_OK) {
    plugin_free(p);
    return reload_failed(e, name, rc);
  }
  /* Until the swap only the old version serves: the new one is LOADED,
  ** so its registrations do not run yet. */
  mark = events_mark(e);
  if (e->store) storage_enter(e->store, &frame, p);
  rc = take_over(old, p);
  if (e->store) {
    char err[512];
    if (storage_leave(e->store, &frame, rc != LPLUG_OK, err, sizeof err) !=
        LPLUG_OK && rc == LPLUG_OK)
      rc = engine_error(e, LPLUG_EIO, "plugin '%s': %s", p->name, err);
    storage_forget_usage(e->store);  /* both versions wrote one namespace */
  }
  if (rc != LPLUG_OK) {
    events_rollback(e, mark, p->name);
    hook_drop_plugin(e, p);
    events_drop_plugin(e, p);
    plugin_free(p);
    return reload_failed(e, name, rc);
  }
  /* The swap: nothing runs between these lines.  The state is the old
  ** version's now (the host may have disabled it meanwhile), except that
  ** the failures safe mode counted were the old code's: the new version
  ** runs, as safe mode's message promised. */
  from = old->state;
  state = from == LPLUG_STATE_DISABLED && old->safe_mode
              ? LPLUG_STATE_ACTIVE : from;
  hook_drop_plugin(e, old);
  events_drop_plugin(e, old);
  e->plugins[i] = p;
  names_replace(e, old, p);
  e->conflicting += deps_conflicts(p->m) - deps_conflicts(old->m);
  p->state = state;
  snprintf(reason, sizeof reason, "reloaded from %s (version %s, was %s)",
           p->dir, p->m->version, old->m->version);
  publish(p, "reloaded", reason);
  if (state != from) publish(p, "enabled", reason);
  tell(p, from, state, reason);
  shut_down(old);
  /* what its shutdown registered goes with it */
  hook_drop_plugin(e, old);
  events_drop_plugin(e, old);
  plugin_free(old);
  return LPLUG_OK;
}

int lplug_reload(lplug_engine *e, const char *name) {
  int i, rc = LPLUG_OK;
  plugin *old;
  if (e == NULL) return LPLUG_EINVAL;
  if ((old = target(e, name, "lplug_reload", 1, &i, &rc)) == NULL) return rc;
  e->busy++;
  rc = reload(e, old, i);
  e->busy--;
  return rc;
}
