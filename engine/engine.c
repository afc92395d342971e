/*
** engine.c -- the engine: its settings, its plugins, loading folders,
** and the public entry points that are not about hooks.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/json.h"

lplug_engine *lplug_engine_new(const lplug_config *config) {
  lplug_engine *e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  if (config) e->config = *config;
  if (e->config.memory_limit == 0)
    e->config.memory_limit = LPLUG_DEFAULT_MEMORY_LIMIT;
  e->no_backstop = e->config.time_limit < 0;
  if (e->config.time_limit < 0) e->config.time_limit = 0;
  if (e->config.instruction_limit < 0) e->config.instruction_limit = 0;
  if (e->config.instruction_limit == 0 && e->config.time_limit == 0)
    e->config.instruction_limit = LPLUG_DEFAULT_INSTRUCTION_LIMIT;
  if (e->config.event_queue <= 0)
    e->config.event_queue = LPLUG_DEFAULT_EVENT_QUEUE;
  if (e->config.event_queue_bytes == 0)
    e->config.event_queue_bytes = LPLUG_DEFAULT_EVENT_QUEUE_BYTES;
  if (e->config.failure_limit == 0)
    e->config.failure_limit = LPLUG_DEFAULT_FAILURE_LIMIT;
  if (e->config.storage_quota == 0)
    e->config.storage_quota = LPLUG_DEFAULT_STORAGE_QUOTA;
  if (e->config.storage_path != NULL &&
      (e->storage_path = strdup(e->config.storage_path)) == NULL) {
    free(e);
    return NULL;
  }
  e->config.storage_path = e->storage_path;
  value_set_nil(&e->scratch);
  if (e->scratch.len == 0) {  /* could not allocate even one byte */
    free(e->storage_path);
    free(e);
    return NULL;
  }
  return e;
}

void lplug_engine_free(lplug_engine *e) {
  int i;
  if (e == NULL) return;
  e->busy++;  /* the engine is going: callbacks may not load or unload */
  plugin_shutdown_all(e);
  hook_free_all(e);
  events_free_all(e);
  if (lplug_storage_flush(e) != LPLUG_OK)
    engine_log(e, LPLUG_LOG_ERROR, NULL, e->errmsg);
  storage_close(e->store);
  overrides_free_all(e);
  for (i = 0; i < e->nplugins; i++) plugin_free(e->plugins[i]);
  watchdog_free(e->watchdog);
  free(e->plugins);
  names_free(e);
  value_release(&e->scratch);
  free(e->storage_path);
  free(e);
}

int lplug_plugin_count(const lplug_engine *e) { return e ? e->nplugins : 0; }

const char *lplug_plugin_name(const lplug_engine *e, int i) {
  return e && i >= 0 && i < e->nplugins ? e->plugins[i]->name : NULL;
}


int lplug_plugin_stats(const lplug_engine *e, const char *name,
                       lplug_stats *out) {
  const plugin *p;
  if (e == NULL || out == NULL) return LPLUG_EINVAL;
  if ((p = engine_find_plugin(e, name, NULL)) == NULL) return LPLUG_ENOTFOUND;
  *out = p->stats;
  out->memory = p->sb.used;
  out->memory_peak = p->sb.peak;
  if (p->storage_quota)  /* counted lazily: the cache may be cold */
    out->storage_bytes = storage_used(e->store, (plugin *)p);
  return LPLUG_OK;
}

const char *lplug_plugin_dir(const lplug_engine *e, const char *name) {
  const plugin *p = e ? engine_find_plugin(e, name, NULL) : NULL;
  return p ? p->dir : NULL;
}

int lplug_storage_flush(lplug_engine *e) {
  char err[512];
  int rc;
  if (e == NULL) return LPLUG_EINVAL;
  if (e->store == NULL) return LPLUG_OK;
  if (e->calls > 0)
    return engine_error(e, LPLUG_ESTATE, "lplug_storage_flush: called from "
                        "inside a plugin call (flush after it returns)");
  if ((rc = storage_flush(e->store, err, sizeof err)) != LPLUG_OK)
    engine_error(e, rc, "%s", err);
  return rc;
}

/* A load inside a plugin call would run the new plugin's main file in the
** middle of a hook run or a delivery: its registrations on the running
** hook fail, the others change what the call walks.  Refused, as unload
** and reload are. */
int engine_refuse_in_call(lplug_engine *e, const char *op) {
  return engine_error(e, LPLUG_ESTATE, "%s: called from inside a plugin "
                      "call (do it after the call returns)", op);
}

int lplug_load_plugin(lplug_engine *e, const char *dir) {
  if (e == NULL) return LPLUG_EINVAL;
  if (dir == NULL)
    return engine_error(e, LPLUG_EINVAL, "lplug_load_plugin: no plugin "
                        "folder given (dir is NULL)");
  if (e->calls > 0) return engine_refuse_in_call(e, "lplug_load_plugin");
  if (e->busy) return plugin_refuse_busy(e, "lplug_load_plugin");
  return plugin_load(e, dir);
}

int lplug_value_from_json(lplug_engine *e, const char *json, size_t len,
                          lplug_value **out) {
  char err[256];
  int rc;
  if (out != NULL) *out = NULL;
  if (out == NULL || json == NULL)
    return e ? engine_error(e, LPLUG_EINVAL, "lplug_value_from_json: %s is "
                            "NULL", out ? "the text" : "out")
             : LPLUG_EINVAL;
  *out = lplug_value_new();
  if (*out == NULL)
    return e ? engine_error(e, LPLUG_ENOMEM, "out of memory") : LPLUG_ENOMEM;
  rc = json_decode(json, len, *out, err, sizeof err);
  if (rc != LPLUG_OK) {
    lplug_value_free(*out);
    *out = NULL;
    if (e) engine_error(e, rc, "invalid JSON: %s", err);
  }
  return rc;
}
