/*
** hostconfig.c -- the host's settings file (lplug.yaml for the lplug
** command): plugin folders, limit ceilings, queue sizes, the failure
** policy and grants.  Parsed with the bounded YAML tree (yaml_tree.c);
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
#include "engine/manifest.h"
#include "engine/yaml_tree.h"

#define MAX_DIRS 64

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
};

typedef struct parse {
  const char *path;
  char *err;
  size_t errsize;
  lplug_host *h;
} parse;

static int fail(parse *ps, const ytree_node *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ytree_vfail(ps->err, ps->errsize, ps->path, at, fmt, ap);
  va_end(ap);
  return LPLUG_EMANIFEST;
}

static int expect(parse *ps, const ytree_node *n, int type, const char *field) {
  static const char *const names[] = {"a scalar", "a sequence", "a mapping"};
  if (n->type != type)
    return fail(ps, n, "%s: expected %s, got %s", field, names[type],
                ytree_type_name(n));
  return LPLUG_OK;
}

static int unknown(parse *ps, const ytree_node *key, const char *where,
                   const char *allowed) {
  return fail(ps, key, "unknown key '%s%s' (allowed: %s)", where, key->text,
              allowed);
}

/* plugins: [dir, ...], each resolved against the file's folder. */
static int read_plugins(parse *ps, const ytree_node *seq) {
  char base[PATH_MAX];
  const char *slash = strrchr(ps->path, '/');
  int i, rc = expect(ps, seq, YT_SEQ, "plugins");
  if (rc != LPLUG_OK) return rc;
  snprintf(base, sizeof base, "%.*s", slash ? (int)(slash - ps->path) : 1,
           slash ? ps->path : ".");
  for (i = 0; i < seq->n; i++) {
    const ytree_node *d = seq->kids[i];
    char path[PATH_MAX * 2];
    if ((rc = expect(ps, d, YT_SCALAR, "plugins")) != LPLUG_OK) return rc;
    if (ps->h->ndirs == MAX_DIRS)
      return fail(ps, d, "plugins: more than %d folders", MAX_DIRS);
    if (d->text[0] == '/') snprintf(path, sizeof path, "%s", d->text);
    else snprintf(path, sizeof path, "%s/%s", base, d->text);
    if ((ps->h->dirs[ps->h->ndirs] = strdup(path)) == NULL)
      return LPLUG_ENOMEM;
    ps->h->ndirs++;
  }
  return LPLUG_OK;
}

static int read_limits(parse *ps, const ytree_node *map) {
  int k, rc = expect(ps, map, YT_MAP, "limits");
  for (k = 0; rc == LPLUG_OK && k + 1 < map->n; k += 2) {
    const ytree_node *key = map->kids[k], *v = map->kids[k + 1];
    if (strcmp(key->text, "memory") == 0) {
      if (v->type != YT_SCALAR ||
          !manifest_parse_size(v->text, &ps->h->memory_limit) ||
          ps->h->memory_limit == 0)
        rc = fail(ps, v, "limits.memory: not a size (e.g. 256KB, 4MB)");
    } else if (strcmp(key->text, "instructions") == 0) {
      if (v->type != YT_SCALAR ||
          !manifest_parse_count(v->text, &ps->h->instruction_limit))
        rc = fail(ps, v, "limits.instructions: not a count (e.g. 100000, "
                  "10M)");
    } else if (strcmp(key->text, "time") == 0) {
      if (v->type != YT_SCALAR ||
          !manifest_parse_time(v->text, &ps->h->time_limit))
        rc = fail(ps, v, "limits.time: not a duration (e.g. 50ms, 2s)");
    } else {
      rc = unknown(ps, key, "limits.", "memory, instructions, time");
    }
  }
  return rc;
}

static int read_events(parse *ps, const ytree_node *map) {
  int k, rc = expect(ps, map, YT_MAP, "events");
  for (k = 0; rc == LPLUG_OK && k + 1 < map->n; k += 2) {
    const ytree_node *key = map->kids[k], *v = map->kids[k + 1];
    long long n;
    if (strcmp(key->text, "queue") == 0) {
      if (v->type != YT_SCALAR || !manifest_parse_count(v->text, &n) ||
          n > INT_MAX)
        rc = fail(ps, v, "events.queue: not a count of events");
      else
        ps->h->event_queue = (int)n;
    } else if (strcmp(key->text, "queue_bytes") == 0) {
      if (v->type != YT_SCALAR ||
          !manifest_parse_size(v->text, &ps->h->event_queue_bytes) ||
          ps->h->event_queue_bytes == 0)
        rc = fail(ps, v, "events.queue_bytes: not a size (e.g. 16MB)");
    } else {
      rc = unknown(ps, key, "events.", "queue, queue_bytes");
    }
  }
  return rc;
}

static int read_root(parse *ps, const ytree_node *root) {
  int k, rc = LPLUG_OK;
  ytree_node top = {0};
  top.line = top.col = 1;
  if (root == NULL) return LPLUG_OK;  /* an empty file: all defaults */
  if (root->type != YT_MAP)
    return fail(ps, root, "expected a mapping of settings, got %s",
                ytree_type_name(root));
  for (k = 0; rc == LPLUG_OK && k + 1 < root->n; k += 2) {
    const ytree_node *key = root->kids[k], *v = root->kids[k + 1];
    if (key->type != YT_SCALAR)
      return fail(ps, key, "keys must be plain names");
    if (strcmp(key->text, "plugins") == 0) {
      rc = read_plugins(ps, v);
    } else if (strcmp(key->text, "limits") == 0) {
      rc = read_limits(ps, v);
    } else if (strcmp(key->text, "events") == 0) {
      rc = read_events(ps, v);
    } else if (strcmp(key->text, "failure") == 0) {
      if (v->type != YT_SCALAR || (strcmp(v->text, "open") != 0 &&
                                   strcmp(v->text, "closed") != 0))
        rc = fail(ps, v, "failure: expected 'open' or 'closed'");
      else
        ps->h->fail_closed = strcmp(v->text, "closed") == 0;
    } else if (strcmp(key->text, "grants") == 0) {
      if ((rc = expect(ps, v, YT_MAP, "grants")) == LPLUG_OK) {
        lplug_value_free(ps->h->grants);
        ps->h->grants = NULL;
        rc = ytree_to_value(v, &ps->h->grants);
      }
    } else {
      rc = unknown(ps, key, "", "plugins, limits, events, failure, grants");
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
  *out = NULL;
  rc = ytree_read_file(path, MANIFEST_MAX_BYTES, &text, &len, err, errsize);
  if (rc != LPLUG_OK) return rc;
  rc = ytree_parse(text, len, path, &root, err, errsize);
  free(text);
  if (rc != LPLUG_OK) return rc;
  ps.path = path;
  ps.err = err;
  ps.errsize = errsize;
  ps.h = calloc(1, sizeof *ps.h);
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
  free(h);
}

void lplug_host_configure(const lplug_host *h, lplug_config *config) {
  if (h->memory_limit) config->memory_limit = h->memory_limit;
  if (h->instruction_limit) config->instruction_limit = h->instruction_limit;
  if (h->time_limit) config->time_limit = h->time_limit;
  if (h->event_queue) config->event_queue = h->event_queue;
  if (h->event_queue_bytes) config->event_queue_bytes = h->event_queue_bytes;
}

int lplug_host_grant(void *ud, const char *plugin, const char *capability,
                     const char *item) {
  const lplug_host *h = ud;
  size_t at;
  /* The plugin's own entry decides each capability it names (so `hooks: []`
  ** takes back what "*" gives); "*" decides the rest. */
  if (lplug_value_field(h->grants, 0, plugin, &at) &&
      caps_names(h->grants, at, capability))
    return caps_allows(h->grants, at, capability, item);
  return lplug_value_field(h->grants, 0, "*", &at) &&
         caps_allows(h->grants, at, capability, item);
}

int lplug_host_plugin_dirs(const lplug_host *h) { return h->ndirs; }

const char *lplug_host_plugin_dir(const lplug_host *h, int i) {
  return i >= 0 && i < h->ndirs ? h->dirs[i] : NULL;
}

int lplug_host_fail_closed(const lplug_host *h) { return h->fail_closed; }
