/*
** yaml_tree.c -- YAML text (libyaml's event API) into a small bounded tree.
**
** Used for plugin.yaml (manifest.c) and the host's lplug.yaml
** (hostconfig.c).  Hostile input is bounded before it costs anything: the
** number of nodes, the nesting, the scalar length; anchors, aliases (the
** "billion laughs"), explicit tags and extra documents are refused.
*/
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "engine/grow.h"
#include "engine/yaml_tree.h"

#define MAX_NODES YTREE_MAX_NODES
#define MAX_DEPTH YTREE_MAX_DEPTH
#define MAX_SCALAR YTREE_MAX_SCALAR

typedef struct parse {
  ytree_report r;             /* where messages go, and the file's name */
  int nodes;
} parse;

int ytree_fail(const ytree_report *r, const ytree_node *at, const char *fmt,
               ...) {
  va_list ap;
  int used;
  if (at) used = snprintf(r->err, r->errsize, "%s:%d:%d: ", r->path, at->line,
                          at->col);
  else used = snprintf(r->err, r->errsize, "%s: ", r->path);
  if (used >= 0 && (size_t)used < r->errsize) {
    va_start(ap, fmt);
    vsnprintf(r->err + used, r->errsize - (size_t)used, fmt, ap);
    va_end(ap);
  }
  return LPLUG_EMANIFEST;
}

void ytree_free(ytree_node *n) {
  int i;
  if (n == NULL) return;
  for (i = 0; i < n->n; i++) ytree_free(n->kids[i]);
  free(n->kids);
  free(n->text);
  free(n);
}

static ytree_node *node_new(parse *ps, int type, const yaml_mark_t *mark) {
  ytree_node *n;
  if (++ps->nodes > MAX_NODES) return NULL;
  n = calloc(1, sizeof *n);
  if (n == NULL) return NULL;
  n->type = type;
  n->line = (int)mark->line + 1;
  n->col = (int)mark->column + 1;
  return n;
}

static int add_kid(ytree_node *parent, ytree_node *kid) {
  if (!grow(&parent->kids, &parent->cap, parent->n, sizeof *parent->kids, 8))
    return 0;
  parent->kids[parent->n++] = kid;
  return 1;
}

/* Builds the tree of the one document in text; *root is NULL for an empty
** document. */
static int build_tree(parse *ps, const char *text, size_t len,
                      ytree_node **root) {
  yaml_parser_t parser;
  yaml_event_t ev;
  ytree_node *stack[MAX_DEPTH + 1];
  int depth = 0, rc = LPLUG_OK, docs = 0, done = 0;
  *root = NULL;
  if (!yaml_parser_initialize(&parser)) return LPLUG_ENOMEM;
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  while (!done && rc == LPLUG_OK) {
    ytree_node *n = NULL;
    if (!yaml_parser_parse(&parser, &ev)) {
      ytree_node at = {0};
      at.line = (int)parser.problem_mark.line + 1;
      at.col = (int)parser.problem_mark.column + 1;
      rc = ytree_fail(&ps->r, &at, "invalid YAML: %s%s%s",
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
          ytree_node at = {0};
          at.line = (int)ev.start_mark.line + 1;
          at.col = (int)ev.start_mark.column + 1;
          rc = ytree_fail(&ps->r, &at, "only one YAML document is allowed");
        }
        break;
      case YAML_ALIAS_EVENT: {
        ytree_node at = {0};
        at.line = (int)ev.start_mark.line + 1;
        at.col = (int)ev.start_mark.column + 1;
        rc = ytree_fail(&ps->r, &at, "aliases are not supported ('*%s')",
                  ev.data.alias.anchor);
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
        ytree_node at = {0};
        at.line = (int)ev.start_mark.line + 1;
        at.col = (int)ev.start_mark.column + 1;
        if (anchor) {
          rc = ytree_fail(&ps->r, &at, "anchors are not supported "
                    "('&%s')", anchor);
          break;
        }
        if (tag) {
          rc = ytree_fail(&ps->r, &at, "tags are not supported ('%s')",
                    tag);
          break;
        }
        n = node_new(ps, ev.type == YAML_SCALAR_EVENT ? YT_SCALAR :
                     ev.type == YAML_SEQUENCE_START_EVENT ? YT_SEQ : YT_MAP,
                     &ev.start_mark);
        if (n == NULL) {
          rc = ps->nodes > MAX_NODES ?
              ytree_fail(&ps->r, &at, "more than %d YAML nodes", MAX_NODES) :
              LPLUG_ENOMEM;
          break;
        }
        if (ev.type == YAML_SCALAR_EVENT) {
          if (ev.data.scalar.length > MAX_SCALAR) {
            ytree_free(n);
            rc = ytree_fail(&ps->r, &at, "a value longer than %d bytes", MAX_SCALAR);
            break;
          }
          n->len = ev.data.scalar.length;
          n->text = malloc(n->len + 1);
          if (n->text == NULL) {
            ytree_free(n);
            rc = LPLUG_ENOMEM;
            break;
          }
          memcpy(n->text, ev.data.scalar.value, n->len);
          n->text[n->len] = '\0';
          n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        }
        /* Keys are read as text everywhere (key->text): a sequence or
        ** mapping as a key ("{ {}: 1 }", "? [a]") has none. */
        if (depth > 0 && stack[depth - 1]->type == YT_MAP &&
            stack[depth - 1]->n % 2 == 0 && n->type != YT_SCALAR) {
          rc = ytree_fail(&ps->r, &at, "a key must be a scalar, not %s",
                          ytree_type_name(n));
          ytree_free(n);
          break;
        }
        if (depth == 0) {
          *root = n;
        } else if (!add_kid(stack[depth - 1], n)) {
          ytree_free(n);
          rc = LPLUG_ENOMEM;
          break;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
          if (depth == MAX_DEPTH) {
            rc = ytree_fail(&ps->r, &at, "nested deeper than %d levels", MAX_DEPTH);
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
    ytree_free(*root);
    *root = NULL;
  }
  return rc;
}

/* ---- scalars ------------------------------------------------------------ */

int ytree_unique_keys(const ytree_report *r, const ytree_node *n,
                      const char *field, int deep) {
  int k, j, rc = LPLUG_OK;
  for (k = 0; n->type == YT_MAP && k + 1 < n->n; k += 2) {
    const ytree_node *key = n->kids[k];
    if (key->type != YT_SCALAR || strlen(key->text) != key->len)
      return ytree_fail(r, key, "%s%skeys must be plain names", field,
                        *field ? ": " : "");
    for (j = 0; j < k; j += 2)
      if (strcmp(n->kids[j]->text, key->text) == 0)
        return ytree_fail(r, key, "%s%s%s: duplicate key (first at line %d)",
                          field, *field ? "." : "", key->text,
                          n->kids[j]->line);
  }
  for (k = 0; deep && n->type != YT_SCALAR && rc == LPLUG_OK && k < n->n; k++) {
    char path[256];
    if (n->type == YT_MAP && k % 2 == 0) continue;  /* a key: checked */
    if (n->type == YT_MAP)                          /* "config.t.type" */
      snprintf(path, sizeof path, "%s%s%s", field, *field ? "." : "",
               n->kids[k - 1]->text);
    else
      snprintf(path, sizeof path, "%s", field);
    rc = ytree_unique_keys(r, n->kids[k], path, deep);
  }
  return rc;
}

int ytree_is_null(const ytree_node *n) {
  return n->type == YT_SCALAR && n->plain &&
         (n->len == 0 || strcmp(n->text, "~") == 0 ||
          strcmp(n->text, "null") == 0 || strcmp(n->text, "Null") == 0 ||
          strcmp(n->text, "NULL") == 0);
}

int ytree_is_bool(const ytree_node *n, int *b) {
  static const char *const t[] = {"true", "True", "TRUE"};
  static const char *const f[] = {"false", "False", "FALSE"};
  int i;
  if (n->type != YT_SCALAR || !n->plain) return 0;
  for (i = 0; i < 3; i++) {
    if (strcmp(n->text, t[i]) == 0) { *b = 1; return 1; }
    if (strcmp(n->text, f[i]) == 0) { *b = 0; return 1; }
  }
  return 0;
}

int ytree_is_int(const ytree_node *n, long long *x) {
  const char *s = n->text;
  char *end;
  if (n->type != YT_SCALAR || !n->plain || n->len == 0) return 0;
  if (*s == '+' || *s == '-') s++;
  if (!isdigit((unsigned char)*s)) return 0;
  errno = 0;
  *x = strtoll(n->text, &end, 10);
  return errno == 0 && *end == '\0';
}

int ytree_is_float(const ytree_node *n, double *x) {
  const char *s = n->text;
  char *end;
  int digits = 0;
  if (n->type != YT_SCALAR || !n->plain || n->len == 0) return 0;
  for (; *s; s++) {
    if (isdigit((unsigned char)*s)) digits++;
    else if (!strchr("+-.eE", *s)) return 0;
  }
  if (!digits) return 0;
  *x = strtod(n->text, &end);
  return *end == '\0';
}

/* Writes the YAML node as a value: maps are tables with string keys. */
static void build_value(lplug_builder *b, const ytree_node *n) {
  long long i;
  double d;
  int t, k;
  switch (n->type) {
    case YT_MAP:
      lplug_build_table(b);
      for (k = 0; k + 1 < n->n; k += 2) {
        lplug_build_string(b, n->kids[k]->text ? n->kids[k]->text : "",
                           n->kids[k]->len);
        build_value(b, n->kids[k + 1]);
      }
      lplug_build_end(b);
      break;
    case YT_SEQ:
      lplug_build_table(b);
      for (k = 0; k < n->n; k++) {
        lplug_build_integer(b, k + 1);
        build_value(b, n->kids[k]);
      }
      lplug_build_end(b);
      break;
    default:
      if (ytree_is_null(n)) lplug_build_nil(b);
      else if (ytree_is_bool(n, &t)) lplug_build_boolean(b, t);
      else if (ytree_is_int(n, &i)) lplug_build_integer(b, i);
      else if (ytree_is_float(n, &d)) lplug_build_float(b, d);
      else lplug_build_string(b, n->text, n->len);
  }
}

int ytree_parse(const char *text, size_t len, const char *path,
                ytree_node **root, char *err, size_t errsize) {
  parse ps;
  ps.r.path = path;
  ps.r.err = err;
  ps.r.errsize = errsize;
  ps.nodes = 0;
  return build_tree(&ps, text, len, root);
}

const char *ytree_type_name(const ytree_node *n) {
  return n->type == YT_MAP ? "a mapping" : n->type == YT_SEQ ? "a sequence" :
         "a scalar";
}

int ytree_to_value(const ytree_node *n, lplug_value **out) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  int rc = LPLUG_ENOMEM;
  if (b && v) {
    if (n) build_value(b, n);
    else lplug_build_nil(b);
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

/* The buffer is sized from the file, not from max: a max-sized one (64 KB
** for a manifest) was a malloc, and fresh pages, per plugin loaded, and
** stdio added its own buffer and a read to find the end.  One byte more
** than the file says lets one read see the whole of it; a file that grows
** meanwhile, or reports no size, grows the buffer up to max + 1, which is
** enough to tell that it is too large.
**
** regular_only: the file comes with a plugin, so a FIFO or device put in
** its place must not block the host: opened without blocking (no effect
** on a regular file) and refused unless it is a regular file. */
int ytree_read_file(const char *path, size_t max, int regular_only,
                    char **text, size_t *len, char *err, size_t errsize) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0)),
      bad = 0, regular;
  struct stat st;
  size_t cap, n = 0;
  char *buf;
  if (fd < 0) {
    snprintf(err, errsize, "%s: cannot read: %s", path, strerror(errno));
    return LPLUG_EIO;
  }
  regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular_only && !regular) {
    close(fd);
    snprintf(err, errsize, "%s: cannot read: not a regular file", path);
    return LPLUG_EIO;
  }
  cap = regular && (size_t)st.st_size < max ? (size_t)st.st_size + 1
                                             : max + 1;
  if ((buf = malloc(cap)) == NULL) {
    close(fd);
    return LPLUG_ENOMEM;
  }
  for (;;) {
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      bad = 1;
      break;
    }
    n += (size_t)got;
    /* A short read of a regular file is its end (and 0 any file's). */
    if (got == 0 || (regular && n < cap)) break;
    if (n == cap) {
      char *more;
      if (cap == max + 1) break;  /* over max: no need to read on */
      cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
      if ((more = realloc(buf, cap)) == NULL) {
        free(buf);
        close(fd);
        return LPLUG_ENOMEM;
      }
      buf = more;
    }
  }
  close(fd);
  if (bad || n > max) {
    free(buf);
    if (bad) snprintf(err, errsize, "%s: cannot read", path);
    else snprintf(err, errsize, "%s: larger than %zu bytes", path, max);
    return bad ? LPLUG_EIO : LPLUG_EMANIFEST;
  }
  *text = buf;
  *len = n;
  return LPLUG_OK;
}
