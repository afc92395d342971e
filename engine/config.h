/*
** config.h -- a plugin's configuration (lplug.config).
**
** The manifest's `config:` maps each key to a small schema:
**
**   threshold: { type: integer, default: 10, min: 1, max: 1000 }
**   mode:      { type: string, default: fast, enum: [fast, exact] }
**   api_key:   { type: string, required: true, description: "..." }
**
** config.c checks the schema itself when the manifest loads (with
** file:line:column, while the YAML tree is at hand) and, when the plugin
** loads, makes the effective configuration: the defaults overlaid with
** the host's overrides, every value checked against its key's schema.
** overrides.c keeps the host's overrides per plugin name in the engine
** (lplug_plugin_configure, lplug_host_apply_config).
*/
#ifndef LPLUG_CONFIG_H
#define LPLUG_CONFIG_H

#include <stddef.h>
#include "lplug.h"
#include "engine/yaml_tree.h"

#define CONFIG_MAX_KEY 64   /* bytes in a key name */

/* Checks the `config:` mapping of a manifest (NULL or a null node: no
** configuration).  On failure writes "path:line:col: config.key...: what"
** into err and returns LPLUG_EMANIFEST (or LPLUG_ENOMEM). */
int config_check_schema(const ytree_node *config, const char *path,
                        char *err, size_t errsize);

/* Makes the effective configuration of plugin `plugin` from its checked
** `schema` (the manifest's config value) and the host's `overrides` (a
** table of key -> value, or NULL) into *out (free with lplug_value_free).
** `origins` (or NULL) maps override keys to "file:line:col" of where the
** host set them, for messages.  Values of type number become floats,
** integers stay integers.  Returns LPLUG_OK, LPLUG_EMANIFEST (a message
** "config.key: what (set by the host ...)" in err) or LPLUG_ENOMEM. */
int config_resolve(const char *plugin, const lplug_value *schema,
                   const lplug_value *overrides, const lplug_value *origins,
                   lplug_value **out, char *err, size_t errsize);

/* overrides.c: stores a copy of `values` (a table with string keys; NULL
** or nil forgets the plugin's overrides) and of `origins` (NULL or a
** table key -> "file:line:col") for plugin `plugin`, replacing what was
** set before.  Returns LPLUG_OK, LPLUG_EINVAL, LPLUG_ESTATE (the plugin
** is loaded) or LPLUG_ENOMEM, with the engine's message set. */
int overrides_set(lplug_engine *e, const char *plugin,
                  const lplug_value *values, const lplug_value *origins);

#endif
