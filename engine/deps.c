/*
** deps.c -- plugin dependencies: checking one plugin's `depends:` and
** `lplug:` against what is loaded (deps_check, used by every load), and
** loading a set of plugin folders in dependency order (lplug_load_dirs).
**
** A set is read whole first (every manifest), then ordered: a plugin
** loads after every plugin of the set it needs or optionally uses; among
** those ready at once the smallest name goes first, so the order never
** depends on how a file system lists folders.  Cycles are found before
** anything loads (depth-first search) and fail each plugin on them with
** the whole chain; a plugin whose dependency failed, in any way, fails
** too, naming that dependency and its reason.  The others all load.
*/
#define _DEFAULT_SOURCE  /* d_type and DT_* of readdir's entries */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/grow.h"
#include "engine/engine.h"

typedef struct cand {
  char *dir;                  /* the plugin's folder */
  char *real;                 /* its canonical path when known, or NULL */
  const char *folder;         /* its last component, inside dir */
  char *name;                 /* from its manifest; NULL if that failed */
  manifest *m;                /* until handed to plugin_load_manifest */
  char *error;                /* why it failed; NULL while it has not */
  int code;
  int done;                   /* loaded or failed */
  int failed_at;              /* 1 for the first failure reported, ... */
  int mark;                   /* cycle search: 0 new, 1 on path, 2 done */
  int seq;                    /* reading order: the first of a name wins */
} cand;

struct deps_set {
  cand *c;                    /* sorted by name once read (index_set) */
  int n, cap;
  int named;                  /* c[0..named) have names, in order */
  int failures;               /* reported so far */
};

static const plugin *loaded(const lplug_engine *e, const char *name) {
  return engine_find_plugin(e, name, NULL);
}

/* Binary search: the set is sorted by name before anything looks. */
static cand *find(const deps_set *s, const char *name) {
  int lo = 0, hi = s ? s->named : 0;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2, cmp = strcmp(s->c[mid].name, name);
    if (cmp == 0) return &s->c[mid];
    if (cmp < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* A folder of the set named `name` whose manifest failed: likely the
** plugin a dependent means. */
static const cand *broken_folder(const deps_set *s, const char *name) {
  int i;
  for (i = 0; s && i < s->n; i++)
    if (s->c[i].name == NULL && strcmp(s->c[i].folder, name) == 0)
      return &s->c[i];
  return NULL;
}

/* "geoip >= 1.2 < 2": the entry without its ?/! and outer spaces. */
static const char *entry(const manifest_dep *d, char *buf, size_t size) {
  size_t n = strlen(d->range_text);
  while (n > 0 && d->range_text[n - 1] == ' ') n--;
  snprintf(buf, size, "%s%s%.*s", d->name, n ? " " : "", (int)n,
           d->range_text);
  return buf;
}

/* Whether version text `version` is in d's range. */
static int matches(const manifest_dep *d, const char *version) {
  semver v;
  return semver_parse(version, &v) && semver_satisfies(&d->range, &v);
}

static int check_engine(lplug_engine *e, const manifest *m) {
  semver v;
  if (m->lplug == NULL) return LPLUG_OK;
  if (semver_parse(lplug_version(), &v) &&
      semver_satisfies(&m->lplug_range, &v))
    return LPLUG_OK;
  return engine_error(e, LPLUG_EDEPEND, "plugin '%s': needs lplug '%s' (at "
                      "%s), but this is lplug %s (use a version of '%s' made "
                      "for lplug %s, or change lplug:)", m->name, m->lplug,
                      m->lplug_where, lplug_version(), m->name,
                      lplug_version());
}

/* One entry of m's depends:. */
static int check_dep(lplug_engine *e, const manifest *m, const manifest_dep *d,
                     const deps_set *set) {
  const plugin *p = loaded(e, d->name);
  const cand *c = find(set, d->name);
  char what[256];
  entry(d, what, sizeof what);
  if (d->kind == MANIFEST_CONFLICTS) {
    if (p && matches(d, p->m->version))
      return engine_error(e, LPLUG_EDEPEND, "plugin '%s': is incompatible "
                          "with '%s' (at %s), but %s %s is loaded (remove "
                          "one of the two)", m->name, what, d->where,
                          d->name, p->m->version);
    if (!p && c && !c->done && c->m && c->m != m && matches(d, c->m->version))
      return engine_error(e, LPLUG_EDEPEND, "plugin '%s': is incompatible "
                          "with '%s' (at %s), but %s %s is being loaded too "
                          "(from %s; remove one of the two)", m->name, what,
                          d->where, d->name, c->m->version, c->dir);
    return LPLUG_OK;
  }
  if (p) {
    if (matches(d, p->m->version)) return LPLUG_OK;
    return engine_error(e, LPLUG_EDEPEND, "plugin '%s': %s '%s', but %s %s "
                        "is loaded (install a version of %s that matches, or "
                        "change the entry at %s)", m->name,
                        d->kind == MANIFEST_OPTIONAL ? "optionally uses" :
                        "needs", what, d->name, p->m->version, d->name,
                        d->where);
  }
  if (c == NULL) c = broken_folder(set, d->name);
  if (c && c->error) {
    if (d->kind == MANIFEST_OPTIONAL) {
      char msg[sizeof e->errmsg];
      snprintf(msg, sizeof msg, "plugin '%s': loads without its optional "
               "dependency '%s', which failed to load", m->name, d->name);
      engine_log(e, LPLUG_LOG_WARN, m->name, msg);
      return LPLUG_OK;
    }
    return engine_error(e, LPLUG_EDEPEND, "plugin '%s': cannot load: it "
                        "depends on '%s', which failed to load (%s)", m->name,
                        d->name, c->error);
  }
  if (d->kind == MANIFEST_OPTIONAL) return LPLUG_OK;
  return engine_error(e, LPLUG_EDEPEND, "plugin '%s': needs '%s', which is "
                      "not installed (add %s to a plugin folder, or remove "
                      "the entry at %s)", m->name, what, d->name, d->where);
}

int deps_check_dependents(lplug_engine *e, const manifest *m) {
  int i;
  size_t k;
  for (i = 0; i < e->nplugins; i++) {
    const manifest *q = e->plugins[i]->m;
    for (k = 0; k < q->ndepends; k++) {
      const manifest_dep *d = &q->deps[k];
      char what[256];
      if (strcmp(d->name, m->name) != 0 || d->kind == MANIFEST_CONFLICTS ||
          matches(d, m->version))
        continue;
      return engine_error(e, LPLUG_EDEPEND, "plugin '%s': loaded plugin '%s' "
                          "needs '%s' (at %s), and this version is %s (keep "
                          "a version it accepts, or change its depends:)",
                          m->name, q->name, entry(d, what, sizeof what),
                          d->where, m->version);
    }
  }
  return LPLUG_OK;
}

int deps_conflicts(const manifest *m) {
  size_t k;
  for (k = 0; k < m->ndepends; k++)
    if (m->deps[k].kind == MANIFEST_CONFLICTS) return 1;
  return 0;
}

/* A loaded plugin may have declared m incompatible (few ever declare
** anything incompatible: e->conflicting counts those, so that loading
** many plugins does not rescan them all each time). */
static int check_declared_against(lplug_engine *e, const manifest *m) {
  int i;
  size_t k;
  for (i = 0; i < e->nplugins && e->conflicting > 0; i++) {
    const manifest *q = e->plugins[i]->m;
    for (k = 0; k < q->ndepends; k++) {
      const manifest_dep *d = &q->deps[k];
      char what[256];
      if (d->kind == MANIFEST_CONFLICTS && strcmp(d->name, m->name) == 0 &&
          matches(d, m->version))
        return engine_error(e, LPLUG_EDEPEND, "plugin '%s': loaded plugin "
                            "'%s' is incompatible with '%s' (at %s), and this "
                            "is %s %s (remove one of the two)", m->name,
                            q->name, entry(d, what, sizeof what), d->where,
                            m->name, m->version);
    }
  }
  return LPLUG_OK;
}

int deps_check(lplug_engine *e, const manifest *m, const deps_set *set) {
  size_t k;
  int rc = check_engine(e, m);
  for (k = 0; k < m->ndepends && rc == LPLUG_OK; k++)
    rc = check_dep(e, m, &m->deps[k], set);
  if (rc == LPLUG_OK) rc = check_declared_against(e, m);
  return rc;
}

/* ---- a set of folders ---------------------------------------------------- */

static void cand_free(cand *c) {
  free(c->dir);
  free(c->real);
  free(c->name);
  manifest_free(c->m);
  free(c->error);
}

static void set_free(deps_set *s) {
  int i;
  for (i = 0; i < s->n; i++) cand_free(&s->c[i]);
  free(s->c);
}

/* dir/name into out, with no second '/' after a dir ending in one
** ("plugins/": plugins/alert, not plugins//alert, in every message).
** Returns whether it fitted. */
static int join(char *out, size_t size, const char *dir, const char *name) {
  size_t n = strlen(dir);
  return snprintf(out, size, "%s%s%s", dir,
                  n && dir[n - 1] == '/' ? "" : "/", name) < (int)size;
}

static void warn_manifest(void *ud, const char *message) {
  engine_log(ud, LPLUG_LOG_WARN, NULL, message);
}

/* Marks c failed with the engine's message and reports it (as `who`). */
static int fail(lplug_engine *e, deps_set *s, cand *c, int code,
                const char *who) {
  c->done = 1;
  c->failed_at = ++s->failures;
  c->code = code;
  free(c->error);
  if ((c->error = strdup(e->errmsg)) == NULL) return LPLUG_ENOMEM;
  engine_report(e, who, code, "");
  return LPLUG_OK;
}

/* Reads the manifest of folder `path` into a new candidate; `real` is
** the folder's canonical path when known.  A folder without plugin.yaml
** is no plugin: said with a warning and skipped.  That is asked only when
** the manifest cannot be read, so that a plugin costs no system call
** besides reading it. */
static int add(lplug_engine *e, deps_set *s, const char *path,
               const char *real) {
  char yaml[PATH_MAX + 16], err[1024];
  struct stat st;
  cand *c;
  int rc;
  if (!grow(&s->c, &s->cap, s->n, sizeof *s->c, 16)) return LPLUG_ENOMEM;
  c = &s->c[s->n];
  memset(c, 0, sizeof *c);
  c->seq = s->n;
  join(yaml, sizeof yaml, path, "plugin.yaml");
  rc = manifest_load(yaml, &c->m, err, sizeof err, warn_manifest, e);
  if (rc == LPLUG_ENOMEM) return rc;
  if (rc != LPLUG_OK && stat(yaml, &st) != 0) {
    char msg[PATH_MAX + 64];
    snprintf(msg, sizeof msg, "%s: no plugin.yaml, not a plugin (skipped)",
             path);
    engine_log(e, LPLUG_LOG_WARN, NULL, msg);
    return LPLUG_OK;
  }
  if ((c->dir = strdup(path)) == NULL ||
      (real && (c->real = strdup(real)) == NULL)) {
    free(c->dir);
    manifest_free(c->m);
    return LPLUG_ENOMEM;
  }
  s->n++;
  c->folder = strrchr(c->dir, '/') ? strrchr(c->dir, '/') + 1 : c->dir;
  if (rc != LPLUG_OK) {
    engine_error(e, rc, "%s", err);
    return fail(e, s, c, rc, path);
  }
  return (c->name = strdup(c->m->name)) ? LPLUG_OK : LPLUG_ENOMEM;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

/* Adds every plugin folder under dir (those holding plugin.yaml).  dir is
** resolved once: a subfolder that readdir says is a folder (not a link)
** has dir's canonical path and its own name as its canonical path, which
** saves resolving each part of it again for every plugin; a link, or an
** entry of a file system that does not say, is looked at with stat and
** resolved when it loads. */
static int add_folder(lplug_engine *e, deps_set *s, const char *dir) {
  char real[PATH_MAX];
  struct dirent **list;
  int n, i, rc = LPLUG_OK, resolved = realpath(dir, real) != NULL;
  n = scandir(dir, &list, NULL, by_name);
  if (n < 0)
    return engine_error(e, LPLUG_EIO, "cannot read plugin folder '%s': %s",
                        dir, strerror(errno));
  for (i = 0; i < n && rc == LPLUG_OK; i++) {
    char path[PATH_MAX], child[PATH_MAX];
    const char *name = list[i]->d_name;
    struct stat st;
    int folder = list[i]->d_type == DT_DIR;
    if (name[0] == '.') continue;
    join(path, sizeof path, dir, name);
    if (!folder && (list[i]->d_type != DT_LNK &&
                    list[i]->d_type != DT_UNKNOWN))
      continue;
    if (!folder && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) continue;
    folder = folder && resolved &&
             snprintf(child, sizeof child, "%s/%s",
                      strcmp(real, "/") != 0 ? real : "", name) <
                 (int)sizeof child;
    rc = add(e, s, path, folder ? child : NULL);
  }
  for (i = 0; i < n; i++) free(list[i]);
  free(list);
  if (rc == LPLUG_ENOMEM)
    engine_error(e, rc, "out of memory reading plugin folder '%s'", dir);
  return rc;
}

/* Named first, by name, then in reading order. */
static int by_candidate(const void *a, const void *b) {
  const cand *x = a, *y = b;
  int cmp;
  if (!x->name || !y->name) return x->name ? -1 : y->name ? 1 : x->seq - y->seq;
  cmp = strcmp(x->name, y->name);
  return cmp ? cmp : x->seq - y->seq;
}

/* Whether two candidates are one folder, read twice (a folder given
** twice, or a plugin's folder given beside the folder holding it).
** Resolved only here, for names met twice. */
static int same_folder(const cand *a, const cand *b) {
  char ra[PATH_MAX], rb[PATH_MAX];
  const char *x = a->real ? a->real : realpath(a->dir, ra);
  const char *y = b->real ? b->real : realpath(b->dir, rb);
  return x != NULL && y != NULL && strcmp(x, y) == 0;
}

#define SEQ_SKIPPED (-1)     /* a second folder of a name: loses it */
#define SEQ_READ_TWICE (-2)  /* the same folder again: dropped */

/* Sorts the set by name, failing all but the first folder read of each
** name (the same folder read again is dropped, silently: it is no
** clash), so that every later lookup is a binary search and "smallest
** name first" is index order. */
static int index_set(lplug_engine *e, deps_set *s) {
  int i, kept, rc = LPLUG_OK;
  if (s->n == 0) return LPLUG_OK;  /* (qsort of NULL is undefined) */
  qsort(s->c, (size_t)s->n, sizeof *s->c, by_candidate);
  for (i = 1; i < s->n && rc == LPLUG_OK; i++) {
    cand *c = &s->c[i], *first = &s->c[i - 1];
    char yaml[PATH_MAX + 16];
    if (!c->name || !first->name || strcmp(c->name, first->name) != 0)
      continue;
    while (first > s->c && first[-1].name &&
           strcmp(first[-1].name, c->name) == 0)
      first--;
    if (same_folder(first, c)) {
      c->seq = SEQ_READ_TWICE;
      continue;
    }
    join(yaml, sizeof yaml, c->dir, "plugin.yaml");
    engine_error(e, LPLUG_EEXIST, "%s: a plugin named '%s' is also in %s "
                 "(names must be unique; this one is skipped)", yaml,
                 c->name, first->dir);
    rc = fail(e, s, c, LPLUG_EEXIST, c->name);
    manifest_free(c->m);
    c->m = NULL;
    c->seq = SEQ_SKIPPED;  /* loses its name below */
  }
  for (i = kept = 0; i < s->n; i++) {
    cand *c = &s->c[i];
    if (c->seq == SEQ_READ_TWICE) {
      cand_free(c);
      continue;
    }
    if (c->seq == SEQ_SKIPPED) {
      free(c->name);
      c->name = NULL;
    }
    s->c[kept++] = *c;
  }
  s->n = kept;
  qsort(s->c, (size_t)s->n, sizeof *s->c, by_candidate);
  for (s->named = 0; s->named < s->n && s->c[s->named].name; s->named++) {}
  return rc;
}

/* The candidates c's manifest orders it after. */
static int edge(const deps_set *s, const cand *c, size_t k) {
  const manifest_dep *d = &c->m->deps[k];
  const cand *to;
  if (d->kind == MANIFEST_CONFLICTS) return -1;
  to = find(s, d->name);
  return to && to->m ? (int)(to - s->c) : -1;
}

/* Fails each plugin on the cycle path[from..depth] with the chain, which
** starts at its smallest name so that it reads the same whoever finds
** it. */
static int fail_cycle(lplug_engine *e, deps_set *s, const int *path,
                      int from, int depth) {
  char chain[1024];
  size_t used = 0;
  int len = depth - from + 1, start = from, i, rc = LPLUG_OK;
  for (i = from; i <= depth; i++)
    if (strcmp(s->c[path[i]].name, s->c[path[start]].name) < 0) start = i;
  for (i = 0; i <= len && used < sizeof chain; i++) {
    int at = path[from + (start - from + i) % len];
    used += (size_t)snprintf(chain + used, sizeof chain - used, "%s%s",
                             i ? " -> " : "", s->c[at].name);
  }
  for (i = from; i <= depth && rc == LPLUG_OK; i++) {
    cand *c = &s->c[path[i]];
    if (c->error) continue;  /* on an earlier cycle too: that one stands */
    engine_error(e, LPLUG_EDEPEND, "plugin '%s': dependency cycle: %s (each "
                 "needs the next loaded first; remove one of these depends: "
                 "entries)", c->name, chain);
    c->code = LPLUG_EDEPEND;
    if ((c->error = strdup(e->errmsg)) == NULL) rc = LPLUG_ENOMEM;
  }
  return rc;
}

static int search(lplug_engine *e, deps_set *s, int i, int *path, int depth) {
  cand *c = &s->c[i];
  size_t k;
  int rc = LPLUG_OK;
  c->mark = 1;
  path[depth] = i;
  for (k = 0; k < c->m->ndepends && rc == LPLUG_OK; k++) {
    int j = edge(s, c, k), at;
    if (j < 0) continue;
    if (s->c[j].mark == 1) {
      for (at = depth; path[at] != j; at--) {}
      rc = fail_cycle(e, s, path, at, depth);
    } else if (s->c[j].mark == 0) {
      rc = search(e, s, j, path, depth + 1);
    }
  }
  c->mark = 2;
  return rc;
}

/* Marks every plugin on a cycle failed (reported when its turn comes). */
static int find_cycles(lplug_engine *e, deps_set *s) {
  int *path = malloc((size_t)s->n * sizeof *path), i, rc = LPLUG_OK;
  if (path == NULL) return LPLUG_ENOMEM;
  /* roots in name order (index order), so the search is the same each
  ** time */
  for (i = 0; i < s->n && rc == LPLUG_OK; i++)
    if (s->c[i].m && s->c[i].mark == 0) rc = search(e, s, i, path, 0);
  free(path);
  return rc;
}

/* Whether c may go now: failed already, or all it orders after are done. */
static int ready(const deps_set *s, const cand *c) {
  size_t k;
  if (c->error) return 1;
  for (k = 0; k < c->m->ndepends; k++) {
    int j = edge(s, c, k);
    if (j >= 0 && !s->c[j].done) return 0;
  }
  return 1;
}

/* Loads (or fails) the candidates in dependency order, name order among
** those ready together. */
static int load_in_order(lplug_engine *e, deps_set *s) {
  int first = 0;  /* every candidate before it is done */
  for (;;) {
    int i, best = -1, rc;
    cand *c;
    while (first < s->n && s->c[first].done) first++;
    for (i = first; i < s->n && best < 0; i++)  /* index order: name order */
      if (!s->c[i].done && ready(s, &s->c[i])) best = i;
    if (best < 0) return LPLUG_OK;  /* every candidate is done */
    c = &s->c[best];
    if (c->error) {                 /* on a cycle */
      engine_error(e, c->code, "%s", c->error);
      rc = fail(e, s, c, c->code, c->name);
    } else if ((rc = deps_check(e, c->m, s)) != LPLUG_OK) {
      if (rc == LPLUG_ENOMEM) return rc;
      rc = fail(e, s, c, rc, c->name);
    } else {
      manifest *m = c->m;
      c->m = NULL;                  /* plugin_load_manifest takes it */
      rc = plugin_load_manifest(e, c->dir, c->real, m);
      if (rc != LPLUG_OK) {
        c->code = rc;               /* reported by plugin_load_manifest */
        c->failed_at = ++s->failures;
        rc = (c->error = strdup(e->errmsg)) ? LPLUG_OK : LPLUG_ENOMEM;
      }
      c->done = 1;
    }
    if (rc != LPLUG_OK) return rc;
  }
}

/* The first failure reported: its code, with its message restored. */
static int first_failure(lplug_engine *e, const deps_set *s) {
  int i, first = -1;
  for (i = 0; i < s->n; i++)
    if (s->c[i].failed_at &&
        (first < 0 || s->c[i].failed_at < s->c[first].failed_at))
      first = i;
  if (first < 0) return LPLUG_OK;
  engine_error(e, s->c[first].code, "%s", s->c[first].error);
  return s->c[first].code;
}

int lplug_load_dirs(lplug_engine *e, const char *const *dirs, int n) {
  deps_set s = {NULL, 0, 0, 0, 0};
  int i, rc = LPLUG_OK;
  if (e == NULL) return LPLUG_EINVAL;
  if ((dirs == NULL && n > 0) || n < 0)
    return engine_error(e, LPLUG_EINVAL, "lplug_load_dirs: %s", n < 0
                        ? "a negative number of folders"
                        : "no list of folders given (dirs is NULL)");
  if (e->calls > 0) return engine_refuse_in_call(e, "lplug_load_dirs");
  if (e->busy) return plugin_refuse_busy(e, "lplug_load_dirs");
  for (i = 0; i < n && rc == LPLUG_OK; i++) {
    struct stat st;
    if (dirs[i] == NULL)
      rc = engine_error(e, LPLUG_EINVAL, "lplug_load_dirs: plugin folder "
                        "%d of %d is NULL", i + 1, n);
    else if (stat(dirs[i], &st) != 0)
      rc = engine_error(e, LPLUG_EIO, "cannot read plugin folder '%s': %s",
                        dirs[i], strerror(errno));
    else if (!S_ISDIR(st.st_mode))
      rc = engine_error(e, LPLUG_EIO, "cannot read plugin folder '%s': not "
                        "a folder", dirs[i]);
  }
  for (i = 0; i < n && rc == LPLUG_OK; i++) {
    char yaml[PATH_MAX];
    struct stat st;
    /* A plugin's own folder is that one plugin, not a folder of them. */
    if (join(yaml, sizeof yaml, dirs[i], "plugin.yaml") &&
        stat(yaml, &st) == 0 && S_ISREG(st.st_mode))
      rc = add(e, &s, dirs[i], NULL);
    else
      rc = add_folder(e, &s, dirs[i]);
  }
  if (rc == LPLUG_OK) rc = index_set(e, &s);
  if (rc == LPLUG_OK) rc = find_cycles(e, &s);
  if (rc == LPLUG_OK) rc = load_in_order(e, &s);
  if (rc == LPLUG_ENOMEM)
    engine_error(e, rc, "out of memory loading plugin folders");
  else if (rc == LPLUG_OK)
    rc = first_failure(e, &s);
  set_free(&s);
  return rc;
}

int lplug_load_dir(lplug_engine *e, const char *dir) {
  if (dir == NULL)
    return e ? engine_error(e, LPLUG_EINVAL, "lplug_load_dir: no plugin "
                            "folder given (dir is NULL)") : LPLUG_EINVAL;
  return lplug_load_dirs(e, &dir, 1);
}
