/*
** manifest.c -- plugin.yaml: the YAML tree (yaml_tree.c, which bounds
** hostile input) checked field by field into a manifest.
*/
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/caps.h"
#include "engine/config.h"
#include "engine/manifest.h"
#include "engine/semver.h"
#include "engine/yaml_tree.h"


typedef ytree_node node;

typedef struct parse {
  ytree_report r;             /* where messages go, and the file's name */
  manifest_warn_fn warn;
  void *ud;
  int cap_errors;             /* capability items that match nothing */
} parse;


/* ---- units and versions ------------------------------------------------- */

/* Reads a whole number and a suffix; 0 on junk or overflow. */
static int number_unit(const char *text, unsigned long long *x,
                       const char **unit) {
  char *end;
  if (!isdigit((unsigned char)text[0])) return 0;
  errno = 0;
  *x = strtoull(text, &end, 10);
  if (errno != 0) return 0;
  while (*end == ' ') end++;
  *unit = end;
  return 1;
}

int lplug_parse_size(const char *text, size_t *out) {
  static const struct { const char *unit; unsigned long long scale; } u[] = {
    {"", 1}, {"B", 1}, {"K", 1024}, {"KB", 1024}, {"KiB", 1024},
    {"M", 1024 * 1024}, {"MB", 1024 * 1024}, {"MiB", 1024 * 1024},
    {"G", 1024ull * 1024 * 1024}, {"GB", 1024ull * 1024 * 1024},
    {"GiB", 1024ull * 1024 * 1024}, {NULL, 0}
  };
  unsigned long long x;
  const char *unit;
  int i;
  if (text == NULL || out == NULL || !number_unit(text, &x, &unit)) return 0;
  for (i = 0; u[i].unit; i++)
    if (strcmp(unit, u[i].unit) == 0) {
      if (x > SIZE_MAX / u[i].scale) return 0;
      *out = (size_t)(x * u[i].scale);
      return 1;
    }
  return 0;
}

typedef struct unit {
  const char *name;
  unsigned long long scale;
} unit;

/* A positive number with one of `units` after it, scaled, into *out. */
static int scaled(const char *text, const unit *units, long long *out) {
  unsigned long long x;
  const char *name;
  int i;
  if (!number_unit(text, &x, &name)) return 0;
  for (i = 0; units[i].name; i++)
    if (strcmp(name, units[i].name) == 0) {
      if (x == 0 || x > (unsigned long long)LLONG_MAX / units[i].scale)
        return 0;
      *out = (long long)(x * units[i].scale);
      return 1;
    }
  return 0;
}

int lplug_parse_count(const char *text, long long *out) {
  static const unit units[] = {
    {"", 1}, {"K", 1000}, {"k", 1000}, {"M", 1000000}, {"G", 1000000000},
    {NULL, 0}
  };
  return text != NULL && out != NULL && scaled(text, units, out);
}

int manifest_parse_time(const char *text, long long *out) {
  static const unit units[] = {
    {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}, {NULL, 0}
  };
  return scaled(text, units, out);
}

int manifest_is_semver(const char *s) {
  semver v;
  return semver_parse(s, &v);
}

/* ---- fields --------------------------------------------------------------- */

/* A string field: any scalar that is not null. */
static int string_field(parse *ps, const char *field, const node *v,
                        char **out) {
  if (v->type != YT_SCALAR || ytree_is_null(v))
    return ytree_fail(&ps->r, v, "%s: expected a string, got %s", field,
                ytree_is_null(v) ? "nothing" : ytree_type_name(v));
  if (strlen(v->text) != v->len)
    return ytree_fail(&ps->r, v, "%s: contains a NUL byte", field);
  *out = strdup(v->text);
  return *out ? LPLUG_OK : LPLUG_ENOMEM;
}

static int valid_name(const char *s) {
  size_t i;
  if (!(s[0] >= 'a' && s[0] <= 'z')) return 0;
  for (i = 1; s[i]; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
          s[i] == '_' || s[i] == '-'))
      return 0;
  return i <= MANIFEST_MAX_NAME;
}

static int valid_main(const char *s) {
  const char *p;
  size_t n = strlen(s);
  if (n < 5 || s[0] == '/' || strcmp(s + n - 4, ".lua") != 0) return 0;
  for (p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || strchr("_./-", *p))) return 0;
  for (p = s; *p; ) {  /* no "." or ".." component */
    size_t len = strcspn(p, "/");
    if (len == 0 || (len == 1 && p[0] == '.') ||
        (len == 2 && p[0] == '.' && p[1] == '.'))
      return 0;
    p += len;
    if (*p == '/') p++;
  }
  return 1;
}

static char *where(parse *ps, const node *n) {
  char buf[PATH_MAX + 32];
  snprintf(buf, sizeof buf, "%s:%d:%d", ps->r.path, n->line, n->col);
  return strdup(buf);
}

/* Gives a warning to the warning function as one line: a key the file
** quotes may hold any byte, and a newline in it could pass for another
** warning.  Control bytes but tab are written as \n, \r or \xNN, as
** the CLI writes plugin text. */
static void warn_line(parse *ps, const char *msg) {
  char line[4 * (PATH_MAX + 600)];
  size_t n = 0;
  const unsigned char *c;
  if (ps->warn == NULL) return;
  for (c = (const unsigned char *)msg; *c && n + 5 < sizeof line; c++) {
    if (*c == '\n') n += (size_t)snprintf(line + n, 5, "\\n");
    else if (*c == '\r') n += (size_t)snprintf(line + n, 5, "\\r");
    else if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
      n += (size_t)snprintf(line + n, 5, "\\x%02x", *c);
    else line[n++] = (char)*c;
  }
  line[n] = '\0';
  ps->warn(ps->ud, line);
}

static int field_limits(parse *ps, manifest *m, const node *map) {
  int k;
  if (map->type != YT_MAP)
    return ytree_fail(&ps->r, map, "limits: expected a mapping, got %s", ytree_type_name(map));
  for (k = 0; k + 1 < map->n; k += 2) {
    const node *key = map->kids[k], *v = map->kids[k + 1];
    const char *text = v->type == YT_SCALAR ? v->text : "";
    int j;
    /* as at the top level; a second memory: would also leak the first's
    ** place (found by fuzz_manifest) */
    for (j = 0; j < k; j += 2)
      if (strcmp(map->kids[j]->text, key->text) == 0)
        return ytree_fail(&ps->r, key, "limits.%s: duplicate key (first at "
                          "line %d)", key->text, map->kids[j]->line);
    if (strcmp(key->text, "memory") == 0) {
      if (v->type != YT_SCALAR || !lplug_parse_size(text, &m->memory_limit) ||
          m->memory_limit == 0)
        return ytree_fail(&ps->r, v, "limits.memory: '%s' is not a size (e.g. 256KB, "
                    "4MB)", text);
      if ((m->memory_where = where(ps, v)) == NULL) return LPLUG_ENOMEM;
    } else if (strcmp(key->text, "instructions") == 0) {
      if (v->type != YT_SCALAR ||
          !lplug_parse_count(text, &m->instruction_limit))
        return ytree_fail(&ps->r, v, "limits.instructions: '%s' is not a count (e.g. "
                    "100000, 5M)", text);
      if ((m->instructions_where = where(ps, v)) == NULL) return LPLUG_ENOMEM;
    } else if (strcmp(key->text, "time") == 0) {
      if (v->type != YT_SCALAR || !manifest_parse_time(text, &m->time_limit))
        return ytree_fail(&ps->r, v, "limits.time: '%s' is not a duration (e.g. 50ms, "
                    "2s, 500us)", text);
      if ((m->time_where = where(ps, v)) == NULL) return LPLUG_ENOMEM;
    } else {
      char msg[PATH_MAX + 300];
      snprintf(msg, sizeof msg, "%s:%d:%d: unknown key 'limits.%s' (ignored)",
               ps->r.path, key->line, key->col, key->text);
      warn_line(ps, msg);
    }
  }
  return LPLUG_OK;
}

/* One entry of depends: "[?|!] name [range]". */
static int dependency(parse *ps, manifest *m, const node *v, size_t k) {
  manifest_dep *d = &m->deps[k];
  const char *text = m->depends[k], *p = text;
  char err[256];
  size_t n, j;
  d->kind = MANIFEST_REQUIRES;
  while (*p == ' ') p++;
  if (*p == '?' || *p == '!') {
    d->kind = *p == '?' ? MANIFEST_OPTIONAL : MANIFEST_CONFLICTS;
    for (p++; *p == ' '; p++) {}
  }
  n = strcspn(p, " ");
  if ((d->name = strndup(p, n)) == NULL) return LPLUG_ENOMEM;
  if ((d->where = where(ps, v)) == NULL) return LPLUG_ENOMEM;
  if (n == 0)
    return ytree_fail(&ps->r, v, "depends: '%s' names no plugin (expected \"name "
                "[range]\", \"? name\" or \"! name\", e.g. \"utils ^1.4\")",
                text);
  if (strcmp(d->name, "lplug") == 0)
    return ytree_fail(&ps->r, v, "depends: '%s': the engine is not a plugin (give the "
                "engine's versions in the lplug: field, e.g. lplug: "
                "\">= 0.1\")", text);
  if (!valid_name(d->name))
    return ytree_fail(&ps->r, v, "depends: '%s': '%s' is not a plugin name ([a-z]"
                "[a-z0-9_-]*, at most %d bytes)", text, d->name, MANIFEST_MAX_NAME);
  for (j = 0; j < k; j++)
    if (strcmp(m->deps[j].name, d->name) == 0)
      return ytree_fail(&ps->r, v, "depends: '%s' is listed twice (first at %s; "
                  "merge the two entries)", d->name, m->deps[j].where);
  for (p += n; *p == ' '; p++) {}
  d->range_text = p;
  if (!semver_range_parse(p, &d->range, err, sizeof err))
    return ytree_fail(&ps->r, v, "depends: '%s': %s", text, err);
  return LPLUG_OK;
}

static int field_depends(parse *ps, manifest *m, const node *seq) {
  int k;
  if (seq->type != YT_SEQ)
    return ytree_fail(&ps->r, seq, "depends: expected a sequence of strings, got %s",
                ytree_type_name(seq));
  m->depends = calloc((size_t)seq->n + 1, sizeof *m->depends);
  m->deps = calloc((size_t)seq->n + 1, sizeof *m->deps);
  if (m->depends == NULL || m->deps == NULL) return LPLUG_ENOMEM;
  for (k = 0; k < seq->n; k++) {
    int rc = string_field(ps, "depends", seq->kids[k], &m->depends[k]);
    if (rc != LPLUG_OK) return rc;
    m->ndepends++;  /* owns depends[k] and deps[k] from here */
    rc = dependency(ps, m, seq->kids[k], (size_t)k);
    if (rc != LPLUG_OK) return rc;
  }
  return LPLUG_OK;
}

/* lplug: the engine versions the plugin works with. */
static int field_lplug(parse *ps, manifest *m, const node *v) {
  char err[256];
  int rc = string_field(ps, "lplug", v, &m->lplug);
  if (rc != LPLUG_OK) return rc;
  if ((m->lplug_where = where(ps, v)) == NULL) return LPLUG_ENOMEM;
  if (!semver_range_parse(m->lplug, &m->lplug_range, err, sizeof err))
    return ytree_fail(&ps->r, v, "lplug: '%s': %s", m->lplug, err);
  return LPLUG_OK;
}

/* caps_check's problems: warnings go to the warning function, the first
** error becomes the manifest's error. */
static void cap_problem(void *ud, const node *at, int error,
                        const char *message) {
  parse *ps = ud;
  char msg[PATH_MAX + 600];
  if (error) {
    if (ps->cap_errors++ == 0) ytree_fail(&ps->r, at, "%s", message);
    return;
  }
  snprintf(msg, sizeof msg, "%s:%d:%d: %s", ps->r.path, at->line, at->col,
           message);
  warn_line(ps, msg);
}

static int field(parse *ps, manifest *m, const node *key, const node *v) {
  const char *k = key->text;
  if (strcmp(k, "name") == 0) {
    int rc = string_field(ps, k, v, &m->name);
    if (rc == LPLUG_OK && !valid_name(m->name))
      return ytree_fail(&ps->r, v, "name: '%s' must match [a-z][a-z0-9_-]* (lowercase "
                  "letters, digits, '_' and '-'; at most %d)", m->name,
                  MANIFEST_MAX_NAME);
    return rc;
  }
  if (strcmp(k, "version") == 0) {
    int rc = string_field(ps, k, v, &m->version);
    if (rc == LPLUG_OK && !manifest_is_semver(m->version))
      return ytree_fail(&ps->r, v, "version: '%s' is not a semantic version (expected "
                  "MAJOR.MINOR.PATCH, e.g. 1.2.0)", m->version);
    return rc;
  }
  if (strcmp(k, "main") == 0) {
    int rc = string_field(ps, k, v, &m->main);
    if (rc == LPLUG_OK && !valid_main(m->main))
      return ytree_fail(&ps->r, v, "main: '%s' must be a .lua file inside the plugin "
                  "folder (a relative path without '..')", m->main);
    return rc;
  }
  if (strcmp(k, "description") == 0) return string_field(ps, k, v,
                                                         &m->description);
  if (strcmp(k, "author") == 0) return string_field(ps, k, v, &m->author);
  if (strcmp(k, "license") == 0) return string_field(ps, k, v, &m->license);
  if (strcmp(k, "lplug") == 0) return field_lplug(ps, m, v);
  if (strcmp(k, "depends") == 0) return field_depends(ps, m, v);
  if (strcmp(k, "limits") == 0) return field_limits(ps, m, v);
  if (strcmp(k, "capabilities") == 0 || strcmp(k, "config") == 0) {
    lplug_value **out = k[0] == 'c' && k[1] == 'a' ? &m->capabilities :
                                                     &m->config;
    int rc;
    if (v->type != YT_MAP && !ytree_is_null(v))
      return ytree_fail(&ps->r, v, "%s: expected a mapping, got %s", k, ytree_type_name(v));
    if ((rc = ytree_unique_keys(&ps->r, v, k, 1)) != LPLUG_OK) return rc;
    if (out == &m->capabilities &&
        caps_check(v, "capabilities", cap_problem, ps) > 0)
      return LPLUG_EMANIFEST;
    if (out == &m->config &&  /* checked here, where positions are known */
        (rc = config_check_schema(v, ps->r.path, ps->r.err, ps->r.errsize)) !=
            LPLUG_OK)
      return rc;
    lplug_value_free(*out);
    *out = NULL;
    return ytree_to_value(v, out);
  } else {
    char msg[PATH_MAX + 300];
    snprintf(msg, sizeof msg, "%s:%d:%d: unknown key '%s' (ignored)",
             ps->r.path, key->line, key->col, k);
    warn_line(ps, msg);
  }
  return LPLUG_OK;
}

static int check_fields(parse *ps, manifest *m, const node *root) {
  int k, j, rc;
  node top = {0};
  top.line = top.col = 1;
  if (root == NULL)
    return ytree_fail(&ps->r, &top, "the file is empty (a plugin.yaml needs at least "
                "name: and version:)");
  if (root->type != YT_MAP)
    return ytree_fail(&ps->r, root, "expected a mapping of fields (name: ..., "
                "version: ...), got %s", ytree_type_name(root));
  for (k = 0; k + 1 < root->n; k += 2) {
    const node *key = root->kids[k];
    if (key->type != YT_SCALAR)
      return ytree_fail(&ps->r, key, "keys must be plain names, got %s",
                  ytree_type_name(key));
    for (j = 0; j < k; j += 2)
      if (strcmp(root->kids[j]->text, key->text) == 0)
        return ytree_fail(&ps->r, key, "%s: duplicate key (first at line %d)",
                    key->text, root->kids[j]->line);
    if ((rc = field(ps, m, key, root->kids[k + 1])) != LPLUG_OK) return rc;
  }
  if (m->name == NULL) return ytree_fail(&ps->r, &top, "name: required field is missing");
  if (m->version == NULL)
    return ytree_fail(&ps->r, &top, "version: required field is missing");
  if (m->main == NULL && (m->main = strdup("init.lua")) == NULL)
    return LPLUG_ENOMEM;
  return LPLUG_OK;
}

/* ---- entry points ----------------------------------------------------- */

int manifest_parse(const char *text, size_t len, const char *path,
                   manifest **out, char *err, size_t errsize,
                   manifest_warn_fn warn, void *ud) {
  parse ps = {{path, err, errsize}, warn, ud, 0};
  node *root = NULL;
  manifest *m;
  int rc;
  if (len > MANIFEST_MAX_BYTES)
    return ytree_fail(&ps.r, NULL, "larger than %d bytes", MANIFEST_MAX_BYTES);
  rc = ytree_parse(text, len, path, &root, err, errsize);
  if (rc != LPLUG_OK) return rc;
  m = calloc(1, sizeof *m);
  if (m == NULL) {
    ytree_free(root);
    return LPLUG_ENOMEM;
  }
  rc = check_fields(&ps, m, root);
  ytree_free(root);
  if (rc == LPLUG_OK && m->capabilities == NULL)
    rc = ytree_to_value(NULL, &m->capabilities);
  if (rc == LPLUG_OK && m->config == NULL)
    rc = ytree_to_value(NULL, &m->config);
  if (rc != LPLUG_OK) {
    if (rc == LPLUG_ENOMEM) snprintf(err, errsize, "%s: out of memory", path);
    manifest_free(m);
    return rc;
  }
  *out = m;
  return LPLUG_OK;
}

int manifest_load(const char *path, manifest **out, char *err,
                  size_t errsize, manifest_warn_fn warn, void *ud) {
  char *text;
  size_t len;
  int rc = ytree_read_file(path, MANIFEST_MAX_BYTES, 1, &text, &len, err,
                           errsize);
  if (rc != LPLUG_OK) return rc;
  rc = manifest_parse(text, len, path, out, err, errsize, warn, ud);
  free(text);
  return rc;
}

void manifest_free(manifest *m) {
  size_t i;
  if (m == NULL) return;
  free(m->name);
  free(m->version);
  free(m->description);
  free(m->author);
  free(m->license);
  free(m->main);
  free(m->lplug);
  for (i = 0; i < m->ndepends; i++) {
    free(m->depends[i]);
    free(m->deps[i].name);
    free(m->deps[i].where);
  }
  free(m->depends);
  free(m->deps);
  free(m->lplug_where);
  lplug_value_free(m->capabilities);
  lplug_value_free(m->config);
  free(m->memory_where);
  free(m->instructions_where);
  free(m->time_where);
  free(m);
}

int lplug_manifest_name(const char *dir, char *name, size_t size) {
  char path[PATH_MAX], err[256];
  manifest *m = NULL;
  int rc;
  if (dir == NULL || name == NULL || size <= MANIFEST_MAX_NAME)
    return LPLUG_EINVAL;
  name[0] = '\0';
  if (snprintf(path, sizeof path, "%s/plugin.yaml", dir) >= (int)sizeof path)
    return LPLUG_EIO;
  if ((rc = manifest_load(path, &m, err, sizeof err, NULL, NULL)) != LPLUG_OK)
    return rc;
  snprintf(name, size, "%s", m->name);
  manifest_free(m);
  return LPLUG_OK;
}
