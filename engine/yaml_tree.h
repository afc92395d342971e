/*
** yaml_tree.h -- YAML text into a small bounded tree of our own (see
** yaml_tree.c), and the scalar rules both YAML files share: plain `true`/
** `false` are booleans, plain `null`/`~`/empty are nil, plain decimal
** numbers are integers or floats, everything else (and anything quoted)
** is a string.
*/
#ifndef LPLUG_YAML_TREE_H
#define LPLUG_YAML_TREE_H

#include <stdarg.h>
#include <stddef.h>
#include "lplug.h"

#define YTREE_MAX_NODES 1000
#define YTREE_MAX_DEPTH 32
#define YTREE_MAX_SCALAR 4096

enum { YT_SCALAR, YT_SEQ, YT_MAP };

typedef struct ytree_node {
  int type;
  int plain;                  /* a plain (unquoted) scalar */
  char *text;                 /* scalars: NUL-terminated (may hold NULs) */
  size_t len;
  int line, col;              /* 1-based */
  struct ytree_node **kids;   /* maps: key, value, key, value ... */
  int n, cap;
} ytree_node;

/* Parses the one document of text; *root is NULL for an empty one.  On
** failure writes "path:line:col: what" into err and returns
** LPLUG_EMANIFEST (or LPLUG_ENOMEM). */
int ytree_parse(const char *text, size_t len, const char *path,
                ytree_node **root, char *err, size_t errsize);
void ytree_free(ytree_node *n);

/* Reads a whole file of at most max bytes (malloc'd into *text);
** regular_only refuses, without waiting, anything but a regular file (a
** plugin's manifest), where a host's own file may be a pipe. */
int ytree_read_file(const char *path, size_t max, int regular_only,
                    char **text, size_t *len, char *err, size_t errsize);

/* Where a parser's messages go: the file's name, and err (errsize bytes). */
typedef struct ytree_report {
  const char *path;
  char *err;
  size_t errsize;
} ytree_report;

/* Writes "path:line:col: <fmt>" (or "path: <fmt>" when at is NULL) into
** r's err; returns LPLUG_EMANIFEST. */
int ytree_fail(const ytree_report *r, const ytree_node *at, const char *fmt,
               ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

/* Checks that every mapping in n (n itself and below) has plain keys
** (scalars without NUL bytes), each once: a key given twice would have
** the second silently win.  `field` names n in messages ("limits";
** "" for a file's top). */
int ytree_unique_keys(const ytree_report *r, const ytree_node *n,
                      const char *field, int deep);

int ytree_is_null(const ytree_node *n);
int ytree_is_bool(const ytree_node *n, int *b);
int ytree_is_int(const ytree_node *n, long long *x);
int ytree_is_float(const ytree_node *n, double *x);
const char *ytree_type_name(const ytree_node *n);

/* The node as a value (maps: tables with string keys, sequences: 1..n);
** NULL gives nil.  LPLUG_OK or LPLUG_ENOMEM. */
int ytree_to_value(const ytree_node *n, lplug_value **out);

#endif
