/*
** manifest.c -- plugin.yaml, parsed with libyaml's event API.
**
** Parsing happens in two steps: the events become a small bounded tree of
** our own (yaml_tree), then the tree is checked field by field.  Hostile
** input is bounded before it costs anything: the file size, the number of
** nodes, the nesting, the scalar length; anchors, aliases (the "billion
** laughs"), explicit tags and extra documents are refused outright.
*/
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "engine/manifest.h"

#define MAX_NODES 1000
#define MAX_DEPTH 32
#define MAX_SCALAR 4096
#define MAX_NAME 64

enum { N_SCALAR, N_SEQ, N_MAP };

typedef struct node {
  int type;
  int plain;            /* a plain (unquoted) scalar */
  char *text;           /* scalars: NUL-terminated (may hold NULs) */
  size_t len;
  int line, col;        /* 1-based */
  struct node **kids;   /* maps: key, value, key, value ... */
  int n, cap;
} node;

typedef struct parse {
  const char *path;
  char *err;
  size_t errsize;
  int nodes;
  manifest_warn_fn warn;
  void *ud;
} parse;

static int fail(parse *ps, const node *at, const char *fmt, ...) {
  va_list ap;
  int used = 0;
  if (at) used = snprintf(ps->err, ps->errsize, "%s:%d:%d: ", ps->path,
                          at->line, at->col);
  else used = snprintf(ps->err, ps->errsize, "%s: ", ps->path);
  if (used < 0 || (size_t)used >= ps->errsize) return LPLUG_EMANIFEST;
  va_start(ap, fmt);
  vsnprintf(ps->err + used, ps->errsize - (size_t)used, fmt, ap);
  va_end(ap);
  return LPLUG_EMANIFEST;
}

static void node_free(node *n) {
  int i;
  if (n == NULL) return;
  for (i = 0; i < n->n; i++) node_free(n->kids[i]);
  free(n->kids);
  free(n->text);
  free(n);
}

static node *node_new(parse *ps, int type, const yaml_mark_t *mark) {
  node *n;
  if (++ps->nodes > MAX_NODES) return NULL;
  n = calloc(1, sizeof *n);
  if (n == NULL) return NULL;
  n->type = type;
  n->line = (int)mark->line + 1;
  n->col = (int)mark->column + 1;
  return n;
}

static int add_kid(node *parent, node *kid) {
  if (parent->n == parent->cap) {
    int cap = parent->cap ? parent->cap * 2 : 8;
    node **k = realloc(parent->kids, (size_t)cap * sizeof *k);
    if (k == NULL) return 0;
    parent->kids = k;
    parent->cap = cap;
  }
  parent->kids[parent->n++] = kid;
  return 1;
}

static const char *event_name(yaml_event_type_t t) {
  return t == YAML_ALIAS_EVENT ? "alias" : "node";
}

/* Builds the tree of the one document in text; *root is NULL for an empty
** document. */
static int build_tree(parse *ps, const char *text, size_t len, node **root) {
  yaml_parser_t parser;
  yaml_event_t ev;
  node *stack[MAX_DEPTH + 1];
  int depth = 0, rc = LPLUG_OK, docs = 0, done = 0;
  *root = NULL;
  if (!yaml_parser_initialize(&parser)) return LPLUG_ENOMEM;
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  while (!done && rc == LPLUG_OK) {
    node *n = NULL;
    if (!yaml_parser_parse(&parser, &ev)) {
      node at = {0};
      at.line = (int)parser.problem_mark.line + 1;
      at.col = (int)parser.problem_mark.column + 1;
      rc = fail(ps, &at, "invalid YAML: %s%s%s",
                parser.problem ? parser.problem : "syntax error",
                parser.context ? " " : "", parser.context ? parser.context : "");
      break;
    }
    switch (ev.type) {
      case YAML_STREAM_END_EVENT:
        done = 1;
        break;
      case YAML_DOCUMENT_START_EVENT:
        if (++docs > 1) {
          node at = {0};
          at.line = (int)ev.start_mark.line + 1;
          at.col = (int)ev.start_mark.column + 1;
          rc = fail(ps, &at, "only one YAML document is allowed in a "
                    "plugin.yaml");
        }
        break;
      case YAML_ALIAS_EVENT: {
        node at = {0};
        at.line = (int)ev.start_mark.line + 1;
        at.col = (int)ev.start_mark.column + 1;
        rc = fail(ps, &at, "aliases are not supported in plugin.yaml (%s "
                  "'*%s')", event_name(ev.type), ev.data.alias.anchor);
        break;
      }
      case YAML_SCALAR_EVENT:
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const yaml_char_t *anchor = ev.type == YAML_SCALAR_EVENT ?
            ev.data.scalar.anchor : ev.type == YAML_SEQUENCE_START_EVENT ?
            ev.data.sequence_start.anchor : ev.data.mapping_start.anchor;
        const yaml_char_t *tag = ev.type == YAML_SCALAR_EVENT ?
            ev.data.scalar.tag : ev.type == YAML_SEQUENCE_START_EVENT ?
            ev.data.sequence_start.tag : ev.data.mapping_start.tag;
        node at = {0};
        at.line = (int)ev.start_mark.line + 1;
        at.col = (int)ev.start_mark.column + 1;
        if (anchor) {
          rc = fail(ps, &at, "anchors are not supported in plugin.yaml "
                    "('&%s')", anchor);
          break;
        }
        if (tag) {
          rc = fail(ps, &at, "tags are not supported in plugin.yaml ('%s')",
                    tag);
          break;
        }
        n = node_new(ps, ev.type == YAML_SCALAR_EVENT ? N_SCALAR :
                     ev.type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP,
                     &ev.start_mark);
        if (n == NULL) {
          rc = ps->nodes > MAX_NODES ?
              fail(ps, &at, "more than %d YAML nodes", MAX_NODES) :
              LPLUG_ENOMEM;
          break;
        }
        if (ev.type == YAML_SCALAR_EVENT) {
          if (ev.data.scalar.length > MAX_SCALAR) {
            node_free(n);
            rc = fail(ps, &at, "a value longer than %d bytes", MAX_SCALAR);
            break;
          }
          n->len = ev.data.scalar.length;
          n->text = malloc(n->len + 1);
          if (n->text == NULL) {
            node_free(n);
            rc = LPLUG_ENOMEM;
            break;
          }
          memcpy(n->text, ev.data.scalar.value, n->len);
          n->text[n->len] = '\0';
          n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        }
        if (depth == 0) {
          *root = n;
        } else if (!add_kid(stack[depth - 1], n)) {
          node_free(n);
          rc = LPLUG_ENOMEM;
          break;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
          if (depth == MAX_DEPTH) {
            rc = fail(ps, &at, "nested deeper than %d levels", MAX_DEPTH);
            break;
          }
          stack[depth++] = n;
        } else if (depth == 0) {
          /* a lone scalar document */
        }
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        depth--;
        break;
      default:
        break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  if (rc != LPLUG_OK) {
    node_free(*root);
    *root = NULL;
  }
  return rc;
}

/* ---- scalars ------------------------------------------------------------ */

static int is_null(const node *n) {
  return n->type == N_SCALAR && n->plain &&
         (n->len == 0 || strcmp(n->text, "~") == 0 ||
          strcmp(n->text, "null") == 0 || strcmp(n->text, "Null") == 0 ||
          strcmp(n->text, "NULL") == 0);
}

static int is_bool(const node *n, int *b) {
  static const char *const t[] = {"true", "True", "TRUE"};
  static const char *const f[] = {"false", "False", "FALSE"};
  int i;
  if (n->type != N_SCALAR || !n->plain) return 0;
  for (i = 0; i < 3; i++) {
    if (strcmp(n->text, t[i]) == 0) { *b = 1; return 1; }
    if (strcmp(n->text, f[i]) == 0) { *b = 0; return 1; }
  }
  return 0;
}

static int is_int(const node *n, long long *x) {
  const char *s = n->text;
  char *end;
  if (n->type != N_SCALAR || !n->plain || n->len == 0) return 0;
  if (*s == '+' || *s == '-') s++;
  if (!isdigit((unsigned char)*s)) return 0;
  errno = 0;
  *x = strtoll(n->text, &end, 10);
  return errno == 0 && *end == '\0';
}

static int is_float(const node *n, double *x) {
  const char *s = n->text;
  char *end;
  int digits = 0;
  if (n->type != N_SCALAR || !n->plain || n->len == 0) return 0;
  for (; *s; s++) {
    if (isdigit((unsigned char)*s)) digits++;
    else if (!strchr("+-.eE", *s)) return 0;
  }
  if (!digits) return 0;
  *x = strtod(n->text, &end);
  return *end == '\0';
}

/* Writes the YAML node as a value: maps are tables with string keys. */
static void build_value(lplug_builder *b, const node *n) {
  long long i;
  double d;
  int t, k;
  switch (n->type) {
    case N_MAP:
      lplug_build_table(b);
      for (k = 0; k + 1 < n->n; k += 2) {
        lplug_build_string(b, n->kids[k]->text ? n->kids[k]->text : "",
                           n->kids[k]->len);
        build_value(b, n->kids[k + 1]);
      }
      lplug_build_end(b);
      break;
    case N_SEQ:
      lplug_build_table(b);
      for (k = 0; k < n->n; k++) {
        lplug_build_integer(b, k + 1);
        build_value(b, n->kids[k]);
      }
      lplug_build_end(b);
      break;
    default:
      if (is_null(n)) lplug_build_nil(b);
      else if (is_bool(n, &t)) lplug_build_boolean(b, t);
      else if (is_int(n, &i)) lplug_build_integer(b, i);
      else if (is_float(n, &d)) lplug_build_float(b, d);
      else lplug_build_string(b, n->text, n->len);
  }
}

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

int manifest_parse_size(const char *text, size_t *out) {
  static const struct { const char *unit; unsigned long long scale; } u[] = {
    {"", 1}, {"B", 1}, {"K", 1024}, {"KB", 1024}, {"KiB", 1024},
    {"M", 1024 * 1024}, {"MB", 1024 * 1024}, {"MiB", 1024 * 1024},
    {"G", 1024ull * 1024 * 1024}, {"GB", 1024ull * 1024 * 1024},
    {"GiB", 1024ull * 1024 * 1024}, {NULL, 0}
  };
  unsigned long long x;
  const char *unit;
  int i;
  if (!number_unit(text, &x, &unit)) return 0;
  for (i = 0; u[i].unit; i++)
    if (strcmp(unit, u[i].unit) == 0) {
      if (x > SIZE_MAX / u[i].scale) return 0;
      *out = (size_t)(x * u[i].scale);
      return 1;
    }
  return 0;
}

int manifest_parse_count(const char *text, long long *out) {
  static const struct { const char *unit; unsigned long long scale; } u[] = {
    {"", 1}, {"K", 1000}, {"k", 1000}, {"M", 1000000}, {"G", 1000000000},
    {NULL, 0}
  };
  unsigned long long x;
  const char *unit;
  int i;
  if (!number_unit(text, &x, &unit)) return 0;
  for (i = 0; u[i].unit; i++)
    if (strcmp(unit, u[i].unit) == 0) {
      if (x == 0 || x > (unsigned long long)LLONG_MAX / u[i].scale) return 0;
      *out = (long long)(x * u[i].scale);
      return 1;
    }
  return 0;
}

/* A numeric identifier: digits, no leading zero. */
static const char *numeric(const char *s) {
  const char *p = s;
  while (isdigit((unsigned char)*p)) p++;
  if (p == s || (*s == '0' && p - s > 1)) return NULL;
  return p;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading
** zeros when `strict_numbers`. */
static const char *identifiers(const char *s, int strict_numbers) {
  for (;;) {
    const char *p = s;
    int all_digits = 1;
    while (isalnum((unsigned char)*p) || *p == '-') {
      if (!isdigit((unsigned char)*p)) all_digits = 0;
      p++;
    }
    if (p == s) return NULL;
    if (strict_numbers && all_digits && *s == '0' && p - s > 1) return NULL;
    if (*p != '.') return p;
    s = p + 1;
  }
}

int manifest_is_semver(const char *s) {
  int i;
  for (i = 0; i < 3; i++) {
    s = numeric(s);
    if (s == NULL) return 0;
    if (i < 2 && *s++ != '.') return 0;
  }
  if (*s == '-' && (s = identifiers(s + 1, 1)) == NULL) return 0;
  if (*s == '+' && (s = identifiers(s + 1, 0)) == NULL) return 0;
  return *s == '\0';
}

/* ---- fields --------------------------------------------------------------- */

static const char *type_name(const node *n) {
  return n->type == N_MAP ? "a mapping" : n->type == N_SEQ ? "a sequence" :
         "a scalar";
}

/* A string field: any scalar that is not null. */
static int string_field(parse *ps, const char *field, const node *v,
                        char **out) {
  if (v->type != N_SCALAR || is_null(v))
    return fail(ps, v, "%s: expected a string, got %s", field,
                is_null(v) ? "nothing" : type_name(v));
  if (strlen(v->text) != v->len)
    return fail(ps, v, "%s: contains a NUL byte", field);
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
  return i <= MAX_NAME;
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
  snprintf(buf, sizeof buf, "%s:%d:%d", ps->path, n->line, n->col);
  return strdup(buf);
}

static int to_value(const node *n, lplug_value **out) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  int rc = LPLUG_ENOMEM;
  if (b && v) {
    build_value(b, n);
    rc = lplug_builder_finish(b, v);
  }
  lplug_builder_free(b);
  if (rc != LPLUG_OK) {
    lplug_value_free(v);
    return LPLUG_ENOMEM;
  }
  *out = v;
  return LPLUG_OK;
}

static int field_limits(parse *ps, manifest *m, const node *map) {
  int k;
  if (map->type != N_MAP)
    return fail(ps, map, "limits: expected a mapping, got %s", type_name(map));
  for (k = 0; k + 1 < map->n; k += 2) {
    const node *key = map->kids[k], *v = map->kids[k + 1];
    const char *text = v->type == N_SCALAR ? v->text : "";
    if (strcmp(key->text, "memory") == 0) {
      if (v->type != N_SCALAR || !manifest_parse_size(text, &m->memory_limit) ||
          m->memory_limit == 0)
        return fail(ps, v, "limits.memory: '%s' is not a size (e.g. 256KB, "
                    "4MB)", text);
      if ((m->memory_where = where(ps, v)) == NULL) return LPLUG_ENOMEM;
    } else if (strcmp(key->text, "instructions") == 0) {
      if (v->type != N_SCALAR ||
          !manifest_parse_count(text, &m->instruction_limit))
        return fail(ps, v, "limits.instructions: '%s' is not a count (e.g. "
                    "100000, 5M)", text);
      if ((m->instructions_where = where(ps, v)) == NULL) return LPLUG_ENOMEM;
    } else {
      char msg[PATH_MAX + 300];
      snprintf(msg, sizeof msg, "%s:%d:%d: unknown key 'limits.%s' (ignored)",
               ps->path, key->line, key->col, key->text);
      if (ps->warn) ps->warn(ps->ud, msg);
    }
  }
  return LPLUG_OK;
}

static int field_depends(parse *ps, manifest *m, const node *seq) {
  int k;
  if (seq->type != N_SEQ)
    return fail(ps, seq, "depends: expected a sequence of strings, got %s",
                type_name(seq));
  m->depends = calloc((size_t)seq->n + 1, sizeof *m->depends);
  if (m->depends == NULL) return LPLUG_ENOMEM;
  for (k = 0; k < seq->n; k++) {
    int rc = string_field(ps, "depends", seq->kids[k], &m->depends[k]);
    if (rc != LPLUG_OK) return rc;
    m->ndepends++;
  }
  return LPLUG_OK;
}

static int field(parse *ps, manifest *m, const node *key, const node *v) {
  const char *k = key->text;
  if (strcmp(k, "name") == 0) {
    int rc = string_field(ps, k, v, &m->name);
    if (rc == LPLUG_OK && !valid_name(m->name))
      return fail(ps, v, "name: '%s' must match [a-z][a-z0-9_-]* (lowercase "
                  "letters, digits, '_' and '-'; at most %d)", m->name,
                  MAX_NAME);
    return rc;
  }
  if (strcmp(k, "version") == 0) {
    int rc = string_field(ps, k, v, &m->version);
    if (rc == LPLUG_OK && !manifest_is_semver(m->version))
      return fail(ps, v, "version: '%s' is not a semantic version (expected "
                  "MAJOR.MINOR.PATCH, e.g. 1.2.0)", m->version);
    return rc;
  }
  if (strcmp(k, "main") == 0) {
    int rc = string_field(ps, k, v, &m->main);
    if (rc == LPLUG_OK && !valid_main(m->main))
      return fail(ps, v, "main: '%s' must be a .lua file inside the plugin "
                  "folder (a relative path without '..')", m->main);
    return rc;
  }
  if (strcmp(k, "description") == 0) return string_field(ps, k, v,
                                                         &m->description);
  if (strcmp(k, "author") == 0) return string_field(ps, k, v, &m->author);
  if (strcmp(k, "license") == 0) return string_field(ps, k, v, &m->license);
  if (strcmp(k, "lplug") == 0) return string_field(ps, k, v, &m->lplug);
  if (strcmp(k, "depends") == 0) return field_depends(ps, m, v);
  if (strcmp(k, "limits") == 0) return field_limits(ps, m, v);
  if (strcmp(k, "capabilities") == 0 || strcmp(k, "config") == 0) {
    lplug_value **out = k[0] == 'c' && k[1] == 'a' ? &m->capabilities :
                                                     &m->config;
    if (v->type != N_MAP && !is_null(v))
      return fail(ps, v, "%s: expected a mapping, got %s", k, type_name(v));
    lplug_value_free(*out);
    *out = NULL;
    return to_value(v, out);
  } else {
    char msg[PATH_MAX + 300];
    snprintf(msg, sizeof msg, "%s:%d:%d: unknown key '%s' (ignored)",
             ps->path, key->line, key->col, k);
    if (ps->warn) ps->warn(ps->ud, msg);
  }
  return LPLUG_OK;
}

static int check_fields(parse *ps, manifest *m, const node *root) {
  int k, j, rc;
  node top = {0};
  top.line = top.col = 1;
  if (root == NULL)
    return fail(ps, &top, "the file is empty (a plugin.yaml needs at least "
                "name: and version:)");
  if (root->type != N_MAP)
    return fail(ps, root, "expected a mapping of fields (name: ..., "
                "version: ...), got %s", type_name(root));
  for (k = 0; k + 1 < root->n; k += 2) {
    const node *key = root->kids[k];
    if (key->type != N_SCALAR)
      return fail(ps, key, "keys must be plain names, got %s",
                  type_name(key));
    for (j = 0; j < k; j += 2)
      if (strcmp(root->kids[j]->text, key->text) == 0)
        return fail(ps, key, "%s: duplicate key (first at line %d)",
                    key->text, root->kids[j]->line);
    if ((rc = field(ps, m, key, root->kids[k + 1])) != LPLUG_OK) return rc;
  }
  if (m->name == NULL) return fail(ps, &top, "name: required field is missing");
  if (m->version == NULL)
    return fail(ps, &top, "version: required field is missing");
  if (m->main == NULL && (m->main = strdup("init.lua")) == NULL)
    return LPLUG_ENOMEM;
  return LPLUG_OK;
}

/* ---- entry points ----------------------------------------------------- */

int manifest_parse(const char *text, size_t len, const char *path,
                   manifest **out, char *err, size_t errsize,
                   manifest_warn_fn warn, void *ud) {
  parse ps = {path, err, errsize, 0, warn, ud};
  node *root = NULL;
  manifest *m;
  int rc;
  if (len > MANIFEST_MAX_BYTES)
    return fail(&ps, NULL, "larger than %d bytes", MANIFEST_MAX_BYTES);
  rc = build_tree(&ps, text, len, &root);
  if (rc != LPLUG_OK) return rc;
  m = calloc(1, sizeof *m);
  if (m == NULL) {
    node_free(root);
    return LPLUG_ENOMEM;
  }
  rc = check_fields(&ps, m, root);
  node_free(root);
  if (rc == LPLUG_OK && m->capabilities == NULL)
    rc = to_value(&(node){.type = N_SCALAR, .plain = 1, .text = ""},
                  &m->capabilities);
  if (rc == LPLUG_OK && m->config == NULL)
    rc = to_value(&(node){.type = N_SCALAR, .plain = 1, .text = ""},
                  &m->config);
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
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;
  int rc;
  if (f == NULL) {
    snprintf(err, errsize, "%s: cannot read: %s", path, strerror(errno));
    return LPLUG_EIO;
  }
  buf = malloc(MANIFEST_MAX_BYTES + 1);
  if (buf == NULL) {
    fclose(f);
    return LPLUG_ENOMEM;
  }
  n = fread(buf, 1, MANIFEST_MAX_BYTES + 1, f);
  rc = ferror(f);
  fclose(f);
  if (rc) {
    free(buf);
    snprintf(err, errsize, "%s: cannot read", path);
    return LPLUG_EIO;
  }
  if (n > MANIFEST_MAX_BYTES) {
    free(buf);
    snprintf(err, errsize, "%s: larger than %d bytes", path,
             MANIFEST_MAX_BYTES);
    return LPLUG_EMANIFEST;
  }
  rc = manifest_parse(buf, n, path, out, err, errsize, warn, ud);
  free(buf);
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
  for (i = 0; i < m->ndepends; i++) free(m->depends[i]);
  free(m->depends);
  lplug_value_free(m->capabilities);
  lplug_value_free(m->config);
  free(m->memory_where);
  free(m->instructions_where);
  free(m);
}
