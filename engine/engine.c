/*
** engine.c -- the engine: its settings, its plugins, loading folders,
** and the public entry points that are not about hooks.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"
#include "engine/json.h"

lplug_engine *lplug_engine_new(const lplug_config *config) {
  lplug_engine *e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  if (config) e->config = *config;
  if (e->config.memory_limit == 0)
    e->config.memory_limit = LPLUG_DEFAULT_MEMORY_LIMIT;
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
  value_set_nil(&e->scratch);
  if (e->scratch.len == 0) {  /* could not allocate even one byte */
    free(e);
    return NULL;
  }
  return e;
}

void lplug_engine_free(lplug_engine *e) {
  int i;
  if (e == NULL) return;
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
  value_release(&e->scratch);
  free(e);
}

int lplug_plugin_count(const lplug_engine *e) { return e->nplugins; }

const char *lplug_plugin_name(const lplug_engine *e, int i) {
  return i >= 0 && i < e->nplugins ? e->plugins[i]->name : NULL;
}

plugin *engine_find_plugin(const lplug_engine *e, const char *name,
                           int *index) {
  int i;
  for (i = 0; name && i < e->nplugins; i++)
    if (strcmp(e->plugins[i]->name, name) == 0) {
      if (index) *index = i;
      return e->plugins[i];
    }
  return NULL;
}

int lplug_plugin_stats(const lplug_engine *e, const char *name,
                       lplug_stats *out) {
  const plugin *p = engine_find_plugin(e, name, NULL);
  if (p == NULL) return LPLUG_ENOTFOUND;
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
  if (e->store == NULL) return LPLUG_OK;
  if (storage_running(e->store))
    return engine_error(e, LPLUG_ESTATE, "lplug_storage_flush: called from "
                        "inside a plugin call (flush after it returns)");
  if ((rc = storage_flush(e->store, err, sizeof err)) != LPLUG_OK)
    engine_error(e, rc, "%s", err);
  return rc;
}

int lplug_load_plugin(lplug_engine *e, const char *dir) {
  if (e == NULL || dir == NULL) return LPLUG_EINVAL;
  return plugin_load(e, dir);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

int lplug_load_dir(lplug_engine *e, const char *dir) {
  struct dirent **list;
  int n, i, first = LPLUG_OK;
  char firstmsg[sizeof e->errmsg];
  if (e == NULL || dir == NULL) return LPLUG_EINVAL;
  n = scandir(dir, &list, NULL, by_name);
  if (n < 0)
    return engine_error(e, LPLUG_EIO, "cannot read plugin folder '%s'", dir);
  for (i = 0; i < n; i++) {
    char path[4096], yaml[4200];
    struct stat st;
    int rc;
    if (list[i]->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    snprintf(yaml, sizeof yaml, "%s/plugin.yaml", path);
    if (stat(yaml, &st) != 0) {
      char msg[4300];
      snprintf(msg, sizeof msg, "%s: no plugin.yaml, not a plugin (skipped)",
               path);
      engine_log(e, LPLUG_LOG_WARN, NULL, msg);
      continue;
    }
    rc = plugin_load(e, path);
    if (rc != LPLUG_OK && first == LPLUG_OK) {
      first = rc;
      memcpy(firstmsg, e->errmsg, sizeof firstmsg);
    }
  }
  for (i = 0; i < n; i++) free(list[i]);
  free(list);
  if (first != LPLUG_OK) memcpy(e->errmsg, firstmsg, sizeof firstmsg);
  return first;
}

int lplug_value_from_json(lplug_engine *e, const char *json, size_t len,
                          lplug_value **out) {
  char err[256];
  int rc;
  *out = NULL;
  if (json == NULL) return LPLUG_EINVAL;
  *out = lplug_value_new();
  if (*out == NULL) return LPLUG_ENOMEM;
  rc = json_decode(json, len, *out, err, sizeof err);
  if (rc != LPLUG_OK) {
    lplug_value_free(*out);
    *out = NULL;
    if (e) engine_error(e, rc, "invalid JSON: %s", err);
  }
  return rc;
}
