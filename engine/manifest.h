/*
** manifest.h -- plugin.yaml, parsed with libyaml into a manifest.
**
** Errors and warnings name the file, line and column and the field:
**   "plugins/x/plugin.yaml:3:10: version: '1.x' is not a semantic version
**    (expected MAJOR.MINOR.PATCH, e.g. 1.2.0)"
*/
#ifndef LPLUG_MANIFEST_H
#define LPLUG_MANIFEST_H

#include <stddef.h>
#include "lplug.h"
#include "engine/semver.h"

#define MANIFEST_MAX_BYTES (64 * 1024)  /* larger files are refused */
#define MANIFEST_MAX_NAME 64            /* bytes of a plugin's name */

enum manifest_dep_kind {
  MANIFEST_REQUIRES,          /* "name [range]": must be loaded first */
  MANIFEST_OPTIONAL,          /* "? name [range]": if present, first */
  MANIFEST_CONFLICTS          /* "! name [range]": must not be present */
};

/* One entry of depends:, checked when parsed; resolved by deps.c. */
typedef struct manifest_dep {
  int kind;                   /* MANIFEST_* */
  char *name;                 /* the plugin it names */
  const char *range_text;     /* inside the entry, after the name; "" */
  semver_range range;         /* points into the entry: any when "" */
  char *where;                /* "file:line:col" of the entry */
} manifest_dep;

typedef struct manifest {
  char *name;           /* required, [a-z][a-z0-9_-]*, at most 64 bytes */
  char *version;        /* required, semantic version */
  char *description;    /* optional fields: NULL when absent */
  char *author;
  char *license;
  char *main;           /* "init.lua" when absent */
  char *lplug;          /* engine version range as written, or NULL */
  semver_range lplug_range;   /* parsed from lplug (any when absent) */
  char *lplug_where;          /* "file:line:col" of lplug:, or NULL */
  char **depends;       /* each entry as written */
  manifest_dep *deps;   /* the same entries, parsed */
  size_t ndepends;
  lplug_value *capabilities;  /* the mapping as a value; nil when absent */
  lplug_value *config;        /* the mapping as a value; nil when absent */
  size_t memory_limit;        /* limits.memory in bytes; 0 when absent */
  long long instruction_limit;/* limits.instructions; 0 when absent */
  char *memory_where;         /* "file:line:col" of limits.memory */
  char *instructions_where;   /* "file:line:col" of limits.instructions */
  long long time_limit;       /* limits.time in ns; 0 when absent */
  char *time_where;           /* "file:line:col" of limits.time */
} manifest;

/* Called once per warning (unknown key, ...) with one line of text. */
typedef void (*manifest_warn_fn)(void *ud, const char *message);

/* Parses `len` bytes of YAML; `path` names the file in messages.  On
** failure writes one line into err and returns LPLUG_EMANIFEST (or
** LPLUG_ENOMEM); *out is set only on success (free with manifest_free). */
int manifest_parse(const char *text, size_t len, const char *path,
                   manifest **out, char *err, size_t errsize,
                   manifest_warn_fn warn, void *ud);

/* Reads and parses the file at `path`; LPLUG_EIO when it cannot be read,
** LPLUG_EMANIFEST when larger than MANIFEST_MAX_BYTES. */
int manifest_load(const char *path, manifest **out, char *err,
                  size_t errsize, manifest_warn_fn warn, void *ud);

void manifest_free(manifest *m);

/* Sizes and counts: lplug_parse_size and lplug_parse_count (lplug.h),
** defined in manifest.c. */

/* "50ms", "2s", "500us", "100000ns": a number and a unit.  Returns 1 and
** stores the nanoseconds (> 0), or 0 (no unit, unknown unit, overflow). */
int manifest_parse_time(const char *text, long long *out);

/* Whether `s` is a semantic version MAJOR.MINOR.PATCH[-pre][+build]. */
int manifest_is_semver(const char *s);

#endif
