/*
** config.c -- see config.h: the schema of a plugin's `config:` and the
** effective configuration made from it and the host's overrides.  One
** checker (check_value) judges defaults when the manifest loads and
** overrides when the plugin loads, so the same mistake reads the same.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/config.h"

enum { T_STRING, T_INTEGER, T_NUMBER, T_BOOLEAN, T_LIST, T_MAP, T_NONE };

static const char *const type_names[] = {
  "string", "integer", "number", "boolean", "list", "map"
};
static const char *const type_wanted[] = {
  "a string", "an integer", "a number", "true or false", "a list",
  "a map (string keys)"
};
#define TYPE_LIST "string, integer, number, boolean, list, map"

enum { F_TYPE, F_DEFAULT, F_REQUIRED, F_MIN, F_MAX, F_ENUM, F_DESCRIPTION,
       F_COUNT };
static const char *const field_names[F_COUNT] = {
  "type", "default", "required", "min", "max", "enum", "description"
};
#define FIELD_LIST "type, default, required, min, max, enum, description"

static int type_of(const char *name) {
  int t;
  for (t = 0; t < T_NONE; t++)
    if (name && strcmp(name, type_names[t]) == 0) return t;
  return T_NONE;
}

/* ---- values: shapes and words for messages ------------------------------ */

/* A list is a table whose keys are exactly 1..n (the empty table too). */
static int is_list(const lplug_value *v, size_t at) {
  long long i, n = (long long)lplug_value_count(v, at);
  size_t pos;
  for (i = 1; i <= n; i++)
    if (!lplug_value_index(v, at, i, &pos)) return 0;
  return 1;
}

static int is_map(const lplug_value *v, size_t at) {
  size_t iter = 0, k, val;
  while (lplug_value_next(v, at, &iter, &k, &val))
    if (lplug_value_type(v, k) != LPLUG_TSTRING) return 0;
  return 1;
}

static double number(const lplug_value *v, size_t at) {
  if (lplug_value_type(v, at) == LPLUG_TINTEGER)
    return (double)lplug_value_integer(v, at, NULL);
  return lplug_value_float(v, at, NULL);
}

/* A number as written: "10", "2.5". */
static void number_text(const lplug_value *v, size_t at, char *out, size_t n) {
  if (lplug_value_type(v, at) == LPLUG_TINTEGER)
    snprintf(out, n, "%lld", lplug_value_integer(v, at, NULL));
  else
    snprintf(out, n, "%.14g", lplug_value_float(v, at, NULL));
}

/* A value as a message shows it: "the string 'x'", "a list". */
static void describe(const lplug_value *v, size_t at, char *out, size_t n) {
  char num[64];
  size_t len;
  const char *s;
  switch (lplug_value_type(v, at)) {
    case LPLUG_TNIL: snprintf(out, n, "nothing"); break;
    case LPLUG_TBOOLEAN:
      snprintf(out, n, "the boolean %s",
               lplug_value_boolean(v, at) ? "true" : "false");
      break;
    case LPLUG_TINTEGER: case LPLUG_TFLOAT:
      number_text(v, at, num, sizeof num);
      snprintf(out, n, "the %s %s", lplug_value_type(v, at) == LPLUG_TINTEGER
               ? "integer" : "number", num);
      break;
    case LPLUG_TSTRING:
      s = lplug_value_string(v, at, &len);
      snprintf(out, n, "the string '%.40s%s'", s, len > 40 ? "..." : "");
      break;
    default:
      snprintf(out, n, "%s", lplug_value_count(v, at) == 0 ? "an empty table"
               : is_list(v, at) ? "a list" : "a map");
  }
}

/* The value as an allowed value is written: 'fast' or 10. */
static void short_text(const lplug_value *v, size_t at, char *out, size_t n) {
  if (lplug_value_type(v, at) == LPLUG_TSTRING)
    snprintf(out, n, "'%.40s'", lplug_value_string(v, at, NULL));
  else
    number_text(v, at, out, n);
}

/* ---- checking one value against one key's schema ------------------------ */

static int check_type(int type, const lplug_value *v, size_t at, char *msg,
                      size_t n) {
  int t = lplug_value_type(v, at), ok = 0;
  char got[128];
  switch (type) {
    case T_STRING: ok = t == LPLUG_TSTRING; break;
    case T_INTEGER:
      if (t == LPLUG_TINTEGER) ok = 1;
      else if (t == LPLUG_TFLOAT) lplug_value_integer(v, at, &ok);
      break;
    case T_NUMBER: ok = t == LPLUG_TINTEGER || t == LPLUG_TFLOAT; break;
    case T_BOOLEAN: ok = t == LPLUG_TBOOLEAN; break;
    case T_LIST: ok = t == LPLUG_TTABLE && is_list(v, at); break;
    case T_MAP: ok = t == LPLUG_TTABLE && is_map(v, at); break;
  }
  if (ok) return 1;
  describe(v, at, got, sizeof got);
  snprintf(msg, n, "expected %s, got %s%s", type_wanted[type], got,
           type == T_STRING && t != LPLUG_TNIL && t != LPLUG_TTABLE ?
           " (quote it to make it a string)" : "");
  return 0;
}

static int same(int type, const lplug_value *a, size_t at,
                const lplug_value *b, size_t bt) {
  size_t la, lb;
  const char *sa, *sb;
  if (type == T_STRING) {
    sa = lplug_value_string(a, at, &la);
    sb = lplug_value_string(b, bt, &lb);
    return sa && sb && la == lb && memcmp(sa, sb, la) == 0;
  }
  if (type == T_INTEGER)
    return lplug_value_integer(a, at, NULL) == lplug_value_integer(b, bt, NULL);
  return number(a, at) == number(b, bt);
}

/* Whether x is beyond bound `at` of s (the lower one when lower is set). */
static int beyond(int type, const lplug_value *v, size_t at,
                  const lplug_value *s, size_t bound, int lower) {
  if (type == T_INTEGER) {
    long long x = lplug_value_integer(v, at, NULL);
    long long b = lplug_value_integer(s, bound, NULL);
    return lower ? x < b : x > b;
  }
  return lower ? number(v, at) < number(s, bound) :
                 number(v, at) > number(s, bound);
}

static int check_bounds(int type, const lplug_value *s, size_t entry,
                        const lplug_value *v, size_t at, char *msg, size_t n) {
  char x[64], b[64];
  size_t pos, e;
  long long i;
  if (lplug_value_field(s, entry, "min", &pos) &&
      beyond(type, v, at, s, pos, 1)) {
    number_text(v, at, x, sizeof x);
    number_text(s, pos, b, sizeof b);
    snprintf(msg, n, "%s is under the minimum %s", x, b);
    return 0;
  }
  if (lplug_value_field(s, entry, "max", &pos) &&
      beyond(type, v, at, s, pos, 0)) {
    number_text(v, at, x, sizeof x);
    number_text(s, pos, b, sizeof b);
    snprintf(msg, n, "%s is over the maximum %s", x, b);
    return 0;
  }
  if (lplug_value_field(s, entry, "enum", &e)) {
    size_t used;
    for (i = 1; lplug_value_index(s, e, i, &pos); i++)
      if (same(type, v, at, s, pos)) return 1;
    short_text(v, at, x, sizeof x);
    used = (size_t)snprintf(msg, n, "%s is not one of: ", x);
    for (i = 1; lplug_value_index(s, e, i, &pos) && used < n; i++) {
      short_text(s, pos, b, sizeof b);
      used += (size_t)snprintf(msg + used, n - used, "%s%s", i > 1 ? ", " :
                               "", b);
    }
    return 0;
  }
  return 1;
}

/* Whether the value at `at` of v suits the schema at `entry` of s (a
** checked schema); if not, says why in msg. */
static int check_value(const lplug_value *s, size_t entry,
                       const lplug_value *v, size_t at, char *msg, size_t n) {
  size_t pos;
  int type = T_NONE;
  if (lplug_value_field(s, entry, "type", &pos))
    type = type_of(lplug_value_string(s, pos, NULL));
  if (type == T_NONE) {  /* config_check_schema let no such schema pass */
    snprintf(msg, n, "the schema has no valid type");
    return 0;
  }
  return check_type(type, v, at, msg, n) &&
         check_bounds(type, s, entry, v, at, msg, n);
}

/* ---- the schema, checked on the YAML tree --------------------------------- */

typedef struct parse {
  ytree_report r;             /* where messages go, and the file's name */
} parse;

/* Key names: a letter or '_', then letters, digits, '_' and '-'. */
static int valid_key(const ytree_node *k) {
  size_t i;
  if (k->type != YT_SCALAR || k->len == 0 || k->len > CONFIG_MAX_KEY ||
      strlen(k->text) != k->len)
    return 0;
  for (i = 0; i < k->len; i++) {
    char c = k->text[i];
    int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && (i == 0 || !((c >= '0' && c <= '9') || c == '-')))
      return 0;
  }
  return 1;
}

/* Checks one YAML node as a value of `type` (the whole schema when
** `schema` is not NULL, else only the type). */
static int check_node(parse *ps, const char *what, int type,
                      const ytree_node *schema, const ytree_node *n) {
  lplug_value *s = NULL, *v = NULL;
  char msg[512];
  int rc = ytree_to_value(n, &v), ok;
  if (rc == LPLUG_OK && schema) rc = ytree_to_value(schema, &s);
  if (rc != LPLUG_OK) {
    lplug_value_free(v);
    return rc;
  }
  ok = s ? check_value(s, 0, v, 0, msg, sizeof msg) :
           check_type(type, v, 0, msg, sizeof msg);
  lplug_value_free(s);
  lplug_value_free(v);
  return ok ? LPLUG_OK : ytree_fail(&ps->r, n, "%s: %s", what, msg);
}

/* min: and max: of key k: numbers, integers for integer keys, min <= max. */
static int check_range(parse *ps, const char *k, int type,
                       const ytree_node *const f[], const ytree_node *const fk[]) {
  double b[2] = {0, 0};
  int i;
  for (i = 0; i < 2; i++) {
    const ytree_node *n = f[F_MIN + i];
    long long x;
    if (n == NULL) continue;
    if (type != T_INTEGER && type != T_NUMBER)
      return ytree_fail(&ps->r, fk[F_MIN + i], "config.%s.%s: applies only to integer "
                  "and number keys (this one is a %s)", k, field_names[F_MIN + i],
                  type_names[type]);
    if (ytree_is_int(n, &x)) {
      b[i] = (double)x;
    } else if (type == T_INTEGER || !ytree_is_float(n, &b[i]) ||
               !isfinite(b[i])) {
      return ytree_fail(&ps->r, n, "config.%s.%s: expected %s, got '%s'", k,
                  field_names[F_MIN + i], type == T_INTEGER ? "an integer" :
                  "a finite number", n->type == YT_SCALAR ? n->text :
                  ytree_type_name(n));
    }
  }
  if (f[F_MIN] && f[F_MAX] && b[0] > b[1])
    return ytree_fail(&ps->r, f[F_MAX], "config.%s: max %s is under min %s (swap them?)",
                k, f[F_MAX]->text, f[F_MIN]->text);
  return LPLUG_OK;
}

static int check_enum(parse *ps, const char *k, int type, const ytree_node *n,
                      const ytree_node *key) {
  char what[CONFIG_MAX_KEY + 32];
  int i, rc;
  if (type != T_STRING && type != T_INTEGER && type != T_NUMBER)
    return ytree_fail(&ps->r, key, "config.%s.enum: applies only to string, integer "
                "and number keys (this one is a %s)", k, type_names[type]);
  if (n->type != YT_SEQ || n->n == 0)
    return ytree_fail(&ps->r, n, "config.%s.enum: expected a non-empty list of the "
                "allowed values, got %s", k, ytree_type_name(n));
  snprintf(what, sizeof what, "config.%s.enum", k);
  for (i = 0; i < n->n; i++)
    if ((rc = check_node(ps, what, type, NULL, n->kids[i])) != LPLUG_OK)
      return rc;
  return LPLUG_OK;
}

static int check_entry(parse *ps, const ytree_node *key,
                       const ytree_node *entry) {
  const ytree_node *f[F_COUNT] = {0}, *fk[F_COUNT] = {0};
  const char *k = key->text;
  char what[CONFIG_MAX_KEY + 32];
  int i, j, type, required = 0, rc;
  if (entry->type != YT_MAP)
    return ytree_fail(&ps->r, entry, "config.%s: expected a schema mapping (e.g. "
                "{ type: integer, default: 10 }), got %s", k,
                ytree_is_null(entry) ? "nothing" : ytree_type_name(entry));
  for (i = 0; i + 1 < entry->n; i += 2) {
    const ytree_node *name = entry->kids[i];
    for (j = 0; j < F_COUNT; j++)
      if (name->type == YT_SCALAR && strcmp(name->text, field_names[j]) == 0)
        break;
    if (j == F_COUNT)
      return ytree_fail(&ps->r, name, "config.%s: unknown schema key '%s' (allowed: "
                  FIELD_LIST ")", k, name->type == YT_SCALAR ? name->text :
                  ytree_type_name(name));
    if (f[j])
      return ytree_fail(&ps->r, name, "config.%s.%s: duplicate key (first at line %d)",
                  k, field_names[j], fk[j]->line);
    f[j] = entry->kids[i + 1];
    fk[j] = name;
  }
  if (f[F_TYPE] == NULL)
    return ytree_fail(&ps->r, key, "config.%s: type: is missing (one of: " TYPE_LIST
                ")", k);
  type = f[F_TYPE]->type == YT_SCALAR ? type_of(f[F_TYPE]->text) : T_NONE;
  if (type == T_NONE)
    return ytree_fail(&ps->r, f[F_TYPE], "config.%s.type: '%s' is not a type (one of: "
                TYPE_LIST ")", k, f[F_TYPE]->type == YT_SCALAR ?
                f[F_TYPE]->text : ytree_type_name(f[F_TYPE]));
  if (f[F_REQUIRED] && !ytree_is_bool(f[F_REQUIRED], &required))
    return ytree_fail(&ps->r, f[F_REQUIRED], "config.%s.required: expected true or "
                "false", k);
  if (required && f[F_DEFAULT])
    return ytree_fail(&ps->r, fk[F_DEFAULT], "config.%s: a required key takes no "
                "default (the host must set it); remove required: or "
                "default:", k);
  if (f[F_DESCRIPTION] && (f[F_DESCRIPTION]->type != YT_SCALAR ||
                           ytree_is_null(f[F_DESCRIPTION])))
    return ytree_fail(&ps->r, f[F_DESCRIPTION], "config.%s.description: expected a "
                "string", k);
  if ((rc = check_range(ps, k, type, f, fk)) != LPLUG_OK) return rc;
  if (f[F_ENUM] && (rc = check_enum(ps, k, type, f[F_ENUM], fk[F_ENUM])) !=
      LPLUG_OK)
    return rc;
  snprintf(what, sizeof what, "config.%s.default", k);
  if (f[F_DEFAULT])
    return check_node(ps, what, type, entry, f[F_DEFAULT]);
  return LPLUG_OK;
}

int config_check_schema(const ytree_node *config, const char *path,
                        char *err, size_t errsize) {
  parse ps = {{path, err, errsize}};
  int k, j, rc;
  if (config == NULL || ytree_is_null(config)) return LPLUG_OK;
  if (config->type != YT_MAP)
    return ytree_fail(&ps.r, config, "config: expected a mapping of keys to their "
                "schemas, got %s", ytree_type_name(config));
  for (k = 0; k + 1 < config->n; k += 2) {
    const ytree_node *key = config->kids[k];
    if (!valid_key(key))
      return ytree_fail(&ps.r, key, "config: '%s' is not a key name (a letter or "
                  "'_', then letters, digits, '_' or '-'; at most %d bytes)",
                  key->type == YT_SCALAR ? key->text : ytree_type_name(key),
                  CONFIG_MAX_KEY);
    for (j = 0; j < k; j += 2)
      if (strcmp(config->kids[j]->text, key->text) == 0)
        return ytree_fail(&ps.r, key, "config.%s: duplicate key (first at line %d)",
                    key->text, config->kids[j]->line);
    if ((rc = check_entry(&ps, key, config->kids[k + 1])) != LPLUG_OK)
      return rc;
  }
  return LPLUG_OK;
}

/* ---- the effective configuration ----------------------------------------- */

/* Writes the value at `at` of v into b. */
static void copy(lplug_builder *b, const lplug_value *v, size_t at) {
  size_t iter = 0, k, val, len;
  const char *s;
  switch (lplug_value_type(v, at)) {
    case LPLUG_TBOOLEAN: lplug_build_boolean(b, lplug_value_boolean(v, at));
      break;
    case LPLUG_TINTEGER:
      lplug_build_integer(b, lplug_value_integer(v, at, NULL));
      break;
    case LPLUG_TFLOAT: lplug_build_float(b, lplug_value_float(v, at, NULL));
      break;
    case LPLUG_TSTRING:
      s = lplug_value_string(v, at, &len);
      lplug_build_string(b, s, len);
      break;
    case LPLUG_TTABLE:
      lplug_build_table(b);
      while (lplug_value_next(v, at, &iter, &k, &val)) {
        copy(b, v, k);
        copy(b, v, val);
      }
      lplug_build_end(b);
      break;
    default: lplug_build_nil(b);
  }
}

/* The keys of the schema, "a, b", for messages. */
static void key_list(const lplug_value *schema, char *out, size_t n) {
  size_t iter = 0, k, val, used = 0;
  out[0] = '\0';
  while (used < n && lplug_value_next(schema, 0, &iter, &k, &val))
    used += (size_t)snprintf(out + used, n - used, "%s%s", used ? ", " : "",
                             lplug_value_string(schema, k, NULL));
  if (used == 0) snprintf(out, n, "none");
}

/* " at lplug.yaml:3:5" when the host said where it set key. */
static const char *origin_of(const lplug_value *origins, const char *key,
                             char *out, size_t n) {
  size_t at;
  const char *s;
  out[0] = '\0';
  if (origins && lplug_value_field(origins, 0, key, &at) &&
      (s = lplug_value_string(origins, at, NULL)) != NULL)
    snprintf(out, n, " at %s", s);
  return out;
}

/* Every key the host sets must be declared: a misspelt key must not
** leave the default silently in force. */
static int check_declared(const lplug_value *schema,
                          const lplug_value *overrides,
                          const lplug_value *origins, char *err,
                          size_t errsize) {
  size_t iter = 0, k, val, entry;
  char keys[512], where[300];
  while (overrides && lplug_value_next(overrides, 0, &iter, &k, &val)) {
    const char *key = lplug_value_string(overrides, k, NULL);
    if (key && lplug_value_field(schema, 0, key, &entry)) continue;
    key_list(schema, keys, sizeof keys);
    snprintf(err, errsize, "config.%s: set by the host%s, but the plugin "
             "declares no such key (it declares: %s; see config: in its "
             "plugin.yaml)", key ? key : "?",
             origin_of(origins, key ? key : "", where, sizeof where), keys);
    return LPLUG_EMANIFEST;
  }
  return LPLUG_OK;
}

int config_resolve(const char *plugin, const lplug_value *schema,
                   const lplug_value *overrides, const lplug_value *origins,
                   lplug_value **out, char *err, size_t errsize) {
  size_t iter = 0, k, entry, at, pos;
  lplug_builder *b;
  lplug_value *v;
  char msg[512], where[300];
  int rc = check_declared(schema, overrides, origins, err, errsize);
  if (rc != LPLUG_OK) return rc;
  b = lplug_builder_new();
  v = lplug_value_new();
  if (b == NULL || v == NULL) goto nomem;
  lplug_build_table(b);
  while (lplug_value_next(schema, 0, &iter, &k, &entry)) {
    size_t len;
    const char *key = lplug_value_string(schema, k, &len);
    const lplug_value *src = schema;
    int type = T_NONE;
    if (lplug_value_field(schema, entry, "type", &pos))
      type = type_of(lplug_value_string(schema, pos, NULL));
    if (overrides && lplug_value_field(overrides, 0, key, &at)) {
      if (!check_value(schema, entry, overrides, at, msg, sizeof msg)) {
        snprintf(err, errsize, "config.%s: %s (set by the host%s)", key, msg,
                 origin_of(origins, key, where, sizeof where));
        rc = LPLUG_EMANIFEST;
        goto done;
      }
      src = overrides;
    } else if (!lplug_value_field(schema, entry, "default", &at)) {
      if (lplug_value_field(schema, entry, "required", &pos) &&
          lplug_value_boolean(schema, pos)) {
        snprintf(err, errsize, "config.%s: required, and the host sets no "
                 "value (set it under config: { %s: { %s: ... } } in the "
                 "host settings file, or with lplug_plugin_configure)", key,
                 plugin, key);
        rc = LPLUG_EMANIFEST;
        goto done;
      }
      continue;  /* optional, no default: absent */
    }
    lplug_build_string(b, key, len);
    if (type == T_INTEGER)
      lplug_build_integer(b, lplug_value_integer(src, at, NULL));
    else if (type == T_NUMBER)
      lplug_build_float(b, number(src, at));
    else
      copy(b, src, at);
  }
  lplug_build_end(b);
  if (lplug_builder_finish(b, v) != LPLUG_OK) goto nomem;
  *out = v;
  v = NULL;
  goto done;
nomem:
  snprintf(err, errsize, "out of memory making the configuration");
  rc = LPLUG_ENOMEM;
done:
  lplug_builder_free(b);
  lplug_value_free(v);
  return rc;
}
