/*
** hostconfig.c -- the host's settings file (lplug.yaml for the lplug
** command): plugin folders, limit ceilings, queue sizes, the failure
** policy, grants and the configuration of plugins.  Parsed with the bounded YAML tree (yaml_tree.c);
** grants are read with the same rules as manifests (caps.c).  Unknown
** keys are errors: a misspelt grant must not silently grant nothing, or
** a misspelt limit silently leave the default in place.
*/
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/caps.h"
#include "engine/config.h"
#include "engine/manifest.h"
#include "engine/yaml_tree.h"

#define MAX_DIRS 64

/* One plugin's entry under `config:`. */
typedef struct host_config {
  char *plugin;
  lplug_value *values;        /* key -> value */
  lplug_value *origins;       /* key -> "file:line:col" of the value */
} host_config;

/* A plugin named under grants: or config:, and where. */
typedef struct named {
  char *name;
  char *where;                /* "file:line:col: grants" */
} named;

struct lplug_host {
  char *dirs[MAX_DIRS];
  int ndirs;
  size_t memory_limit;
  long long instruction_limit;
  long long time_limit;
  int event_queue;
  size_t event_queue_bytes;
  int fail_closed;
  lplug_value *grants;        /* the `grants:` mapping, nil when absent */
  char *storage_path;         /* resolved; NULL when not set */
  size_t storage_quota;
  int storage_batch_ms;       /* -1 when not set */
  int failure_limit;          /* 0 when not set, -1 for never */
  host_config *configs;       /* the `config:` entries */
  int nconfigs;
  named *names;               /* plugins named by grants: and config: */
  int nnames;
};

typedef struct parse {
  ytree_report r;             /* where messages go, and the file's name */
  lplug_host *h;
} parse;

static int expect(parse *ps, const ytree_node *n, int type, const char *field) {
  static const char *const names[] = {"a scalar", "a sequence", "a mapping"};
  if (n->type != type)
    return ytree_fail(&ps->r, n, "%s: expected %s, got %s", field, names[type],
                ytree_type_name(n));
  return LPLUG_OK;
}

/* A mapping of settings named `field` ("limits"; "" for the file), its
** keys each given once (yaml_tree.c). */
static int settings(parse *ps, const ytree_node *map, const char *field) {
  int rc = expect(ps, map, YT_MAP, *field ? field : "settings");
  return rc == LPLUG_OK ? ytree_unique_keys(&ps->r, map, field, 0) : rc;
}

static int unknown(parse *ps, const ytree_node *key, const char *where,
                   const char *allowed) {
  return ytree_fail(&ps->r, key, "unknown key '%s%s' (allowed: %s)", where, key->text,
              allowed);
}

/* A copy of `path` resolved against the settings file's folder; NULL
** when out of memory. */
static char *resolve(const parse *ps, const char *path) {
  char full[PATH_MAX * 2];
  const char *slash = strrchr(ps->r.path, '/');
  if (path[0] == '/' || slash == NULL) return strdup(path);
  snprintf(full, sizeof full, "%.*s/%s", (int)(slash - ps->r.path), ps->r.path,
           path);
  return strdup(full);
}

/* plugins: [dir, ...], each resolved against the file's folder. */
static int read_plugins(parse *ps, const ytree_node *seq) {
  int i, rc = expect(ps, seq, YT_SEQ, "plugins");
  if (rc != LPLUG_OK) return rc;
  for (i = 0; i < seq->n; i++) {
    const ytree_node *d = seq->kids[i];
    if ((rc = expect(ps, d, YT_SCALAR, "plugins")) != LPLUG_OK) return rc;
    if (ps->h->ndirs == MAX_DIRS)
      return ytree_fail(&ps->r, d, "plugins: more than %d folders", MAX_DIRS);
    if ((ps->h->dirs[ps->h->ndirs] = resolve(ps, d->text)) == NULL)
      return LPLUG_ENOMEM;
    ps->h->ndirs++;
  }
  return LPLUG_OK;
}

/* 0, or a time as manifests write it ("250ms", "2s"), in whole
** milliseconds, at most a day. */
static int parse_ms(const char *text, int *out) {
  long long ns;
  if (strcmp(text, "0") == 0) {
    *out = 0;
    return 1;
  }
  if (!manifest_parse_time(text, &ns) || ns > 86400000LL * 1000000) return 0;
  *out = (int)(ns / 1000000);
  return 1;
}

/* storage: { path: lplug.db, quota: 1MB, batch: 100ms } */
static int read_storage(parse *ps, const ytree_node *map) {
  int k, rc = settings(ps, map, "storage");
  for (k = 0; rc == LPLUG_OK && k + 1 < map->n; k += 2) {
    const ytree_node *key = map->kids[k], *v = map->kids[k + 1];
    if (strcmp(key->text, "path") == 0) {
      if ((rc = expect(ps, v, YT_SCALAR, "storage.path")) != LPLUG_OK) break;
      free(ps->h->storage_path);
      ps->h->storage_path = strcmp(v->text, ":memory:") == 0
                            ? strdup(v->text) : resolve(ps, v->text);
      if (ps->h->storage_path == NULL) rc = LPLUG_ENOMEM;
    } else if (strcmp(key->text, "quota") == 0) {
      if (v->type != YT_SCALAR ||
          !lplug_parse_size(v->text, &ps->h->storage_quota) ||
          ps->h->storage_quota == 0)
        rc = ytree_fail(&ps->r, v, "storage.quota: not a size (e.g. 256KB, 4MB)");
    } else if (strcmp(key->text, "batch") == 0) {
      if (v->type != YT_SCALAR ||
          !parse_ms(v->text, &ps->h->storage_batch_ms))
        rc = ytree_fail(&ps->r, v, "storage.batch: not a time (e.g. 0, 100ms, 1s)");
    } else {
      rc = unknown(ps, key, "storage.", "path, quota, batch");
    }
  }
  return rc;
}

static int read_limits(parse *ps, const ytree_node *map) {
  int k, rc = settings(ps, map, "limits");
  for (k = 0; rc == LPLUG_OK && k + 1 < map->n; k += 2) {
    const ytree_node *key = map->kids[k], *v = map->kids[k + 1];
    if (strcmp(key->text, "memory") == 0) {
      if (v->type != YT_SCALAR ||
          !lplug_parse_size(v->text, &ps->h->memory_limit) ||
          ps->h->memory_limit == 0)
        rc = ytree_fail(&ps->r, v, "limits.memory: not a size (e.g. 256KB, 4MB)");
    } else if (strcmp(key->text, "instructions") == 0) {
      if (v->type != YT_SCALAR ||
          !lplug_parse_count(v->text, &ps->h->instruction_limit))
        rc = ytree_fail(&ps->r, v, "limits.instructions: not a count (e.g. 100000, "
                  "10M)");
    } else if (strcmp(key->text, "time") == 0) {
      /* none: instruction mode without its wall-clock backstop */
      if (v->type == YT_SCALAR && strcmp(v->text, "none") == 0)
        ps->h->time_limit = -1;
      else if (v->type != YT_SCALAR ||
               !manifest_parse_time(v->text, &ps->h->time_limit))
        rc = ytree_fail(&ps->r, v, "limits.time: not a duration (e.g. 50ms, "
                        "2s) or 'none'");
    } else {
      rc = unknown(ps, key, "limits.", "memory, instructions, time");
    }
  }
  return rc;
}

static int read_events(parse *ps, const ytree_node *map) {
  int k, rc = settings(ps, map, "events");
  for (k = 0; rc == LPLUG_OK && k + 1 < map->n; k += 2) {
    const ytree_node *key = map->kids[k], *v = map->kids[k + 1];
    long long n;
    if (strcmp(key->text, "queue") == 0) {
      if (v->type != YT_SCALAR || !lplug_parse_count(v->text, &n) ||
          n > INT_MAX)
        rc = ytree_fail(&ps->r, v, "events.queue: not a count of events");
      else
        ps->h->event_queue = (int)n;
    } else if (strcmp(key->text, "queue_bytes") == 0) {
      if (v->type != YT_SCALAR ||
          !lplug_parse_size(v->text, &ps->h->event_queue_bytes) ||
          ps->h->event_queue_bytes == 0)
        rc = ytree_fail(&ps->r, v, "events.queue_bytes: not a size (e.g. 16MB)");
    } else {
      rc = unknown(ps, key, "events.", "queue, queue_bytes");
    }
  }
  return rc;
}

/* Where each value of a plugin's entry was set, for messages at load. */
static int origins_of(parse *ps, const ytree_node *entry, lplug_value **out) {
  lplug_builder *b = lplug_builder_new();
  int k, rc = LPLUG_ENOMEM;
  *out = lplug_value_new();
  if (b && *out) {
    lplug_build_table(b);
    for (k = 0; k + 1 < entry->n; k += 2) {
      char at[PATH_MAX + 32];
      const ytree_node *v = entry->kids[k + 1];
      int n = snprintf(at, sizeof at, "%s:%d:%d", ps->r.path, v->line, v->col);
      lplug_build_string(b, entry->kids[k]->text, entry->kids[k]->len);
      lplug_build_string(b, at, n < (int)sizeof at ? (size_t)n :
                         sizeof at - 1);
    }
    lplug_build_end(b);
    rc = lplug_builder_finish(b, *out) == LPLUG_OK ? LPLUG_OK : LPLUG_ENOMEM;
  }
  lplug_builder_free(b);
  return rc;
}

/* Remembers each key of `map` (grants:, config:) but "*" as a plugin
** name, for lplug_host_unknown_plugins. */
static int note_names(parse *ps, const ytree_node *map, const char *section) {
  int k;
  named *more = realloc(ps->h->names, ((size_t)ps->h->nnames +
                        (size_t)map->n / 2 + 1) * sizeof *more);
  if (more == NULL) return LPLUG_ENOMEM;
  ps->h->names = more;
  for (k = 0; k + 1 < map->n; k += 2) {
    const ytree_node *key = map->kids[k];
    named *n = &ps->h->names[ps->h->nnames];
    char where[PATH_MAX + 64];
    if (strcmp(key->text, "*") == 0) continue;
    snprintf(where, sizeof where, "%s:%d:%d: %s", ps->r.path, key->line,
             key->col, section);
    n->name = strdup(key->text);
    n->where = strdup(where);
    if (n->name == NULL || n->where == NULL) {
      free(n->name);
      free(n->where);
      return LPLUG_ENOMEM;
    }
    ps->h->nnames++;
  }
  return LPLUG_OK;
}

/* caps_check's report on a grants entry.  Every problem is an error
** here, as the file's other unknown keys are: a misspelt capability
** (storag:) or one that grants nothing (log: with no value) would leave
** a plugin without what the operator meant to grant.  The first one is
** kept, without the "ignored" a manifest's warning says. */
typedef struct grant_check {
  const parse *ps;
  int rc;
} grant_check;

static void grant_problem(void *ud, const ytree_node *at, int error,
                          const char *message) {
  grant_check *gc = ud;
  const char *ignored = strstr(message, " (ignored; ");
  (void)error;
  if (gc->rc != LPLUG_OK) return;
  if (ignored == NULL)
    gc->rc = ytree_fail(&gc->ps->r, at, "%s", message);
  else
    gc->rc = ytree_fail(&gc->ps->r, at, "%.*s (%s", (int)(ignored - message),
                        message, ignored + strlen(" (ignored; "));
}

/* grants: { plugin: { capability: ... }, ... }: each entry read with
** the rules of a manifest's capabilities (caps.c). */
static int check_grants(parse *ps, const ytree_node *map) {
  grant_check gc;
  char field[96];
  int k;
  gc.ps = ps;
  gc.rc = LPLUG_OK;
  for (k = 0; gc.rc == LPLUG_OK && k + 1 < map->n; k += 2) {
    const ytree_node *entry = map->kids[k + 1];
    snprintf(field, sizeof field, "grants.%.64s", map->kids[k]->text);
    if (entry->type != YT_MAP)
      return ytree_fail(&ps->r, entry, "%s: expected a mapping of "
                        "capabilities (e.g. { hooks: [record] }), got %s",
                        field, ytree_is_null(entry) ? "nothing"
                                                    : ytree_type_name(entry));
    caps_check(entry, field, grant_problem, &gc);
  }
  return gc.rc;
}

/* config: { plugin: { key: value, ... }, ... }; the values are checked
** against each plugin's schema when it loads (config.c). */
static int read_config(parse *ps, const ytree_node *map) {
  int k, j, rc = expect(ps, map, YT_MAP, "config");
  if (rc != LPLUG_OK || ps->h->configs != NULL) {
    if (rc == LPLUG_OK) rc = ytree_fail(&ps->r, map, "config: duplicate key");
    return rc;
  }
  ps->h->configs = calloc((size_t)map->n / 2 + 1, sizeof *ps->h->configs);
  if (ps->h->configs == NULL) return LPLUG_ENOMEM;
  for (k = 0; k + 1 < map->n; k += 2) {
    const ytree_node *name = map->kids[k], *entry = map->kids[k + 1];
    host_config *c = &ps->h->configs[ps->h->nconfigs];
    if (name->type != YT_SCALAR)
      return ytree_fail(&ps->r, name, "config: keys must be plugin names");
    for (j = 0; j < k; j += 2)
      if (strcmp(map->kids[j]->text, name->text) == 0)
        return ytree_fail(&ps->r, name, "config.%s: duplicate plugin (first at line "
                    "%d)", name->text, map->kids[j]->line);
    if (entry->type != YT_MAP)
      return ytree_fail(&ps->r, entry, "config.%s: expected a mapping of key: value "
                  "(e.g. { threshold: 50 }), got %s", name->text,
                  ytree_is_null(entry) ? "nothing" : ytree_type_name(entry));
    for (j = 0; j + 1 < entry->n; j += 2) {
      const ytree_node *key = entry->kids[j];
      int i;
      if (key->type != YT_SCALAR)
        return ytree_fail(&ps->r, key, "config.%s: keys must be plain names",
                    name->text);
      for (i = 0; i < j; i += 2)
        if (strcmp(entry->kids[i]->text, key->text) == 0)
          return ytree_fail(&ps->r, key, "config.%s.%s: duplicate key (first at line "
                      "%d)", name->text, key->text, entry->kids[i]->line);
    }
    ps->h->nconfigs++;
    if ((c->plugin = strdup(name->text)) == NULL ||
        ytree_to_value(entry, &c->values) != LPLUG_OK ||
        origins_of(ps, entry, &c->origins) != LPLUG_OK)
      return LPLUG_ENOMEM;
  }
  return LPLUG_OK;
}

static int read_root(parse *ps, const ytree_node *root) {
  int k, rc = LPLUG_OK;
  ytree_node top = {0};
  top.line = top.col = 1;
  if (root == NULL) return LPLUG_OK;  /* an empty file: all defaults */
  if (root->type != YT_MAP)
    return ytree_fail(&ps->r, root, "expected a mapping of settings, got %s",
                ytree_type_name(root));
  if ((rc = settings(ps, root, "")) != LPLUG_OK) return rc;
  for (k = 0; rc == LPLUG_OK && k + 1 < root->n; k += 2) {
    const ytree_node *key = root->kids[k], *v = root->kids[k + 1];
    if (strcmp(key->text, "plugins") == 0) {
      rc = read_plugins(ps, v);
    } else if (strcmp(key->text, "limits") == 0) {
      rc = read_limits(ps, v);
    } else if (strcmp(key->text, "events") == 0) {
      rc = read_events(ps, v);
    } else if (strcmp(key->text, "failure") == 0) {
      if (v->type != YT_SCALAR || (strcmp(v->text, "open") != 0 &&
                                   strcmp(v->text, "closed") != 0))
        rc = ytree_fail(&ps->r, v, "failure: expected 'open' or 'closed'");
      else
        ps->h->fail_closed = strcmp(v->text, "closed") == 0;
    } else if (strcmp(key->text, "disable_after") == 0) {
      long long n;
      if (v->type == YT_SCALAR && strcmp(v->text, "never") == 0)
        ps->h->failure_limit = -1;
      else if (v->type == YT_SCALAR && lplug_parse_count(v->text, &n) &&
               n <= 1000000)
        ps->h->failure_limit = (int)n;
      else
        rc = ytree_fail(&ps->r, v, "disable_after: expected a count of failed calls "
                  "in a row (e.g. 10) or 'never'");
    } else if (strcmp(key->text, "storage") == 0) {
      rc = read_storage(ps, v);
    } else if (strcmp(key->text, "grants") == 0) {
      if ((rc = expect(ps, v, YT_MAP, "grants")) == LPLUG_OK &&
          (rc = ytree_unique_keys(&ps->r, v, "grants", 1)) == LPLUG_OK &&
          (rc = check_grants(ps, v)) == LPLUG_OK) {
        lplug_value_free(ps->h->grants);
        ps->h->grants = NULL;
        rc = ytree_to_value(v, &ps->h->grants);
        if (rc == LPLUG_OK) rc = note_names(ps, v, "grants");
      }
    } else if (strcmp(key->text, "config") == 0) {
      rc = read_config(ps, v);
      if (rc == LPLUG_OK) rc = note_names(ps, v, "config");
    } else {
      rc = unknown(ps, key, "", "plugins, limits, events, storage, failure, "
                   "disable_after, grants, config");
    }
  }
  return rc;
}

int lplug_host_load(const char *path, lplug_host **out, char *err,
                    size_t errsize) {
  parse ps;
  ytree_node *root = NULL;
  char *text;
  size_t len;
  int rc;
  if (out == NULL) return LPLUG_EINVAL;
  *out = NULL;
  if (err == NULL) errsize = 0;  /* no room for a message: none written */
  if (path == NULL) {
    snprintf(err, errsize, "no settings file named");
    return LPLUG_EIO;
  }
  rc = ytree_read_file(path, MANIFEST_MAX_BYTES, 0, &text, &len, err,
                       errsize);
  if (rc != LPLUG_OK) return rc;
  rc = ytree_parse(text, len, path, &root, err, errsize);
  free(text);
  if (rc != LPLUG_OK) return rc;
  ps.r.path = path;
  ps.r.err = err;
  ps.r.errsize = errsize;
  ps.h = calloc(1, sizeof *ps.h);
  if (ps.h) ps.h->storage_batch_ms = -1;  /* not set */
  rc = ps.h ? read_root(&ps, root) : LPLUG_ENOMEM;
  ytree_free(root);
  if (rc == LPLUG_OK && ps.h->grants == NULL)
    rc = ytree_to_value(NULL, &ps.h->grants);
  if (rc != LPLUG_OK) {
    if (rc == LPLUG_ENOMEM) snprintf(err, errsize, "%s: out of memory", path);
    lplug_host_free(ps.h);
    return rc;
  }
  *out = ps.h;
  return LPLUG_OK;
}

void lplug_host_free(lplug_host *h) {
  int i;
  if (h == NULL) return;
  for (i = 0; i < h->ndirs; i++) free(h->dirs[i]);
  lplug_value_free(h->grants);
  free(h->storage_path);
  for (i = 0; i < h->nconfigs; i++) {
    free(h->configs[i].plugin);
    lplug_value_free(h->configs[i].values);
    lplug_value_free(h->configs[i].origins);
  }
  free(h->configs);
  for (i = 0; i < h->nnames; i++) {
    free(h->names[i].name);
    free(h->names[i].where);
  }
  free(h->names);
  free(h);
}

int lplug_host_unknown_plugins(const lplug_host *h,
                               const char *const *plugins, int n,
                               lplug_problem_fn fn, void *ud) {
  char msg[PATH_MAX + 512];
  int i, j, count = 0;
  if (h == NULL || (plugins == NULL && n > 0)) return LPLUG_EINVAL;
  for (i = 0; i < h->nnames; i++) {
    for (j = 0; j < n && strcmp(plugins[j], h->names[i].name) != 0; j++) {}
    if (j < n) continue;
    count++;
    snprintf(msg, sizeof msg, "%s: '%s' names no plugin loaded here (its "
             "entry does nothing; misspelt, or not in these plugin "
             "folders?)", h->names[i].where, h->names[i].name);
    if (fn) fn(ud, msg);
  }
  return count;
}

void lplug_host_configure(const lplug_host *h, lplug_config *config) {
  if (h == NULL || config == NULL) return;
  if (h->memory_limit) config->memory_limit = h->memory_limit;
  if (h->instruction_limit) config->instruction_limit = h->instruction_limit;
  if (h->time_limit) config->time_limit = h->time_limit;
  if (h->event_queue) config->event_queue = h->event_queue;
  if (h->event_queue_bytes) config->event_queue_bytes = h->event_queue_bytes;
  if (h->storage_path) config->storage_path = h->storage_path;
  if (h->storage_quota) config->storage_quota = h->storage_quota;
  if (h->storage_batch_ms >= 0) config->storage_batch_ms = h->storage_batch_ms;
  if (h->failure_limit) config->failure_limit = h->failure_limit;
}

int lplug_host_grant(void *ud, const char *plugin, const char *capability,
                     const char *item) {
  const lplug_host *h = ud;
  size_t at;
  if (h == NULL) return 0;  /* no settings grant nothing */
  /* The plugin's own entry decides each capability it names (so `hooks: []`
  ** takes back what "*" gives); "*" decides the rest. */
  if (lplug_value_field(h->grants, 0, plugin, &at) &&
      caps_names(h->grants, at, capability))
    return caps_allows(h->grants, at, capability, item);
  return lplug_value_field(h->grants, 0, "*", &at) &&
         caps_allows(h->grants, at, capability, item);
}

int lplug_host_apply_config(const lplug_host *h, lplug_engine *e) {
  int i, rc;
  if (h == NULL || e == NULL) return LPLUG_EINVAL;
  for (i = 0; i < h->nconfigs; i++) {
    const host_config *c = &h->configs[i];
    if ((rc = overrides_set(e, c->plugin, c->values, c->origins)) != LPLUG_OK)
      return rc;
  }
  return LPLUG_OK;
}

int lplug_host_plugin_dirs(const lplug_host *h) { return h ? h->ndirs : 0; }

const char *lplug_host_plugin_dir(const lplug_host *h, int i) {
  return h && i >= 0 && i < h->ndirs ? h->dirs[i] : NULL;
}

int lplug_host_fail_closed(const lplug_host *h) {
  return h ? h->fail_closed : 0;
}
