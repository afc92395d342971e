/*
** overrides.c -- the host's configuration of plugins, kept per plugin name
** in the engine until that plugin loads (lplug_plugin_configure, and
** lplug_host_apply_config for the settings file), and the effective
** configuration each plugin gets from it (config.c does the checking).
** A plugin's configuration is fixed while it is loaded: what a plugin
** read once stays true.
*/
#include <stdlib.h>
#include <string.h>

#include "engine/grow.h"
#include "engine/config.h"
#include "engine/engine.h"

static override *find(const lplug_engine *e, const char *name) {
  int i;
  for (i = 0; i < e->noverrides; i++)
    if (strcmp(e->overrides[i].plugin, name) == 0) return &e->overrides[i];
  return NULL;
}

static void release(override *o) {
  free(o->plugin);
  lplug_value_free(o->values);
  lplug_value_free(o->origins);
}

/* Forgets the overrides of plugin `name`, if any. */
static void forget(lplug_engine *e, const char *name) {
  override *o = find(e, name);
  if (o == NULL) return;
  release(o);
  *o = e->overrides[--e->noverrides];
}

/* The first key of the table values that is not a string, or 0. */
static int bad_key(const lplug_value *values, size_t *key) {
  size_t iter = 0, val;
  while (lplug_value_next(values, 0, &iter, key, &val))
    if (lplug_value_type(values, *key) != LPLUG_TSTRING) return 1;
  return 0;
}

int overrides_set(lplug_engine *e, const char *name,
                  const lplug_value *values, const lplug_value *origins) {
  override o = {NULL, NULL, NULL};
  size_t key;
  int t = values ? lplug_value_type(values, 0) : LPLUG_TNIL;
  if (name == NULL || name[0] == '\0')
    return engine_error(e, LPLUG_EINVAL, "lplug_plugin_configure: no plugin "
                        "name given");
  if (engine_find_plugin(e, name, NULL) != NULL)
    return engine_error(e, LPLUG_ESTATE, "lplug_plugin_configure: plugin "
                        "'%s' is loaded, and its configuration is fixed "
                        "while it runs (configure it before loading it)",
                        name);
  if (t != LPLUG_TNIL && t != LPLUG_TTABLE)
    return engine_error(e, LPLUG_EINVAL, "lplug_plugin_configure: plugin "
                        "'%s': the values must be a table of key -> value "
                        "(or nil to forget them)", name);
  if (t == LPLUG_TTABLE && bad_key(values, &key))
    return engine_error(e, LPLUG_EINVAL, "lplug_plugin_configure: plugin "
                        "'%s': keys must be strings (the names under config:"
                        " in its plugin.yaml), got %s key", name,
                        lplug_value_type(values, key) == LPLUG_TINTEGER ?
                        "an integer" : "a non-string");
  if (t == LPLUG_TNIL) {
    forget(e, name);
    return LPLUG_OK;
  }
  if (!grow(&e->overrides, &e->overcap, e->noverrides, sizeof *e->overrides,
            4))
    goto nomem;
  o.plugin = strdup(name);
  o.values = lplug_value_copy(values);
  o.origins = origins ? lplug_value_copy(origins) : NULL;
  if (o.plugin == NULL || o.values == NULL || (origins && o.origins == NULL))
    goto nomem;
  forget(e, name);
  e->overrides[e->noverrides++] = o;
  return LPLUG_OK;
nomem:
  release(&o);
  return engine_error(e, LPLUG_ENOMEM, "lplug_plugin_configure: out of "
                      "memory configuring plugin '%s'", name);
}

int lplug_plugin_configure(lplug_engine *e, const char *name,
                           const lplug_value *values) {
  if (e == NULL) return LPLUG_EINVAL;
  return overrides_set(e, name, values, NULL);
}

int overrides_apply(plugin *p) {
  lplug_engine *e = p->engine;
  const override *o = find(e, p->name);
  char err[1024];
  int rc = config_resolve(p->name, p->m->config, o ? o->values : NULL,
                          o ? o->origins : NULL, &p->config, err, sizeof err);
  if (rc != LPLUG_OK)
    return engine_error(e, rc, "plugin '%s': %s", p->name, err);
  return LPLUG_OK;
}

const lplug_value *plugin_config(const plugin *p) { return p->config; }

void overrides_free_all(lplug_engine *e) {
  int i;
  for (i = 0; i < e->noverrides; i++) release(&e->overrides[i]);
  free(e->overrides);
  e->overrides = NULL;
  e->noverrides = e->overcap = 0;
}
