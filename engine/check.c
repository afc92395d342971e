/*
** check.c -- lplug_check_plugin: what `lplug check` finds wrong with a
** plugin folder before a host loads it.
**
** Three passes, each reporting "file:line[:col]: message" once, at the
** place the problem is about:
**   1. the manifest parses (manifest.c says where it does not);
**   2. every .lua file of the folder compiles (in a sandbox state, so a
**      huge file meets the same memory limit as in a plugin), and its
**      literal uses of the lplug modules agree with the manifest:
**      require "lplug.x" of a capability not declared, hooks.on("h", ...)
**      of a hook point not listed, events.emit / events.on of topics the
**      lists do not cover.  Names built at run time are not seen;
**   3. the plugin loads in an engine that grants what it declares and
**      defines the hook points a host could offer (define_hooks), with
**      the host's `config:` when a settings file is given: errors of the
**      main chunk and config values against the schema, each at the line
**      of the Lua file, plugin.yaml or settings file it is about.
** A .lua link that resolves outside the folder is a problem and is never
** read.
** Specs (spec/) run in the test host, not as plugin code: they are only
** compiled.
*/
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "lplug.h"
#include "engine/caps.h"
#include "engine/manifest.h"
#include "engine/yaml_tree.h"
#include "sandbox/sandbox.h"

#define CHECK_MEMORY (64u * 1024u * 1024u)
#define MAX_FILES 1000
#define MAX_HOOK_NAMES 64     /* hooks.on names kept for the load pass */

typedef struct checker {
  const char *dir;            /* as the caller wrote it, for messages */
  const manifest *m;
  sandbox sb;
  lplug_problem_fn fn;
  void *ud;
  int problems, files, dirs;
  char hooks[MAX_HOOK_NAMES][65];   /* the code's hooks.on("...") names */
  int nhooks;
} checker;

static void problem(checker *c, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;

static void problem(checker *c, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  c->problems++;
  if (c->fn) c->fn(c->ud, buf);
}

/* The manifest's warnings (unknown keys and capabilities) are problems
** here: loading ignores what they name, which is what a check is for. */
static void manifest_warning(void *ud, const char *message) {
  problem(ud, "%s", message);
}

static int no_module(lua_State *L, const char *name, void *owner) {
  (void)owner;
  return luaL_error(L, "lplug.%s: not available while checking", name);
}

/* The level of the long bracket opening at s[j] ("[[" 0, "[==[" 2), or
** -1 when none opens there. */
static int long_open(const char *s, size_t n, size_t j) {
  size_t k = j + 1;
  if (j >= n || s[j] != '[') return -1;
  while (k < n && s[k] == '=') k++;
  return k < n && s[k] == '[' ? (int)(k - j - 1) : -1;
}

/* Just past the long bracket of `level` closing after s[j], or n. */
static size_t long_close(const char *s, size_t n, size_t j, int level) {
  for (; j < n; j++) {
    size_t k = j + 1;
    if (s[j] != ']') continue;
    while (k < n && s[k] == '=') k++;
    if (k < n && s[k] == ']' && (int)(k - j - 1) == level) return k + 1;
  }
  return n;
}

/* Blanks s[from..to) but its newlines, so lines keep their numbers. */
static void blank_span(char *s, size_t from, size_t to) {
  for (; from < to; from++)
    if (s[from] != '\n') s[from] = ' ';
}

/* Blanks out comments and the insides of strings, keeping newlines and
** the quotes, so that the scan below sees code and literal delimiters
** only where they are.  Long strings and comments ([[ ]], [==[ ]==]) too:
** whole, newlines kept (a long comment's newlines were blanked, and the
** lines after it were misnumbered). */
static void blank(char *s, size_t n, char *lits) {
  size_t i = 0, j;
  int level;
  memset(lits, 0, n);
  while (i < n) {
    if (s[i] == '-' && i + 1 < n && s[i + 1] == '-') {
      if ((level = long_open(s, n, i + 2)) >= 0) {  /* --[==[ ... ]==] */
        j = long_close(s, n, i + 2, level);
      } else {
        for (j = i; j < n && s[j] != '\n'; j++) {}
      }
      blank_span(s, i, j);
      i = j;
    } else if ((level = long_open(s, n, i)) >= 0) {  /* [==[ ... ]==] */
      j = long_close(s, n, i, level);
      blank_span(s, i, j);
      i = j;
    } else if (s[i] == '"' || s[i] == '\'') {
      char q = s[i];
      /* The literal's text is kept in lits, the code sees "   ". */
      for (j = i + 1; j < n && s[j] != q && s[j] != '\n'; j++) {
        if (s[j] == '\\' && j + 1 < n) {
          lits[j] = s[j];
          s[j++] = ' ';
        }
        lits[j] = s[j];
        s[j] = ' ';
      }
      i = j + 1;
    } else {
      i++;
    }
  }
}

/* After `at` (past a call's name): optional spaces and '(' then a
** literal; copies it into out and returns 1 when it is followed by ','
** or ')' (or nothing, for require "x"), so "a." .. b is not taken. */
static int literal_arg(const char *s, const char *lits, size_t n, size_t at,
                       char *out, size_t size) {
  size_t i = at, j, len;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i < n && s[i] == '(') i++;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i >= n || (s[i] != '"' && s[i] != '\'')) return 0;
  for (j = i + 1; j < n && s[j] != s[i] && s[j] != '\n'; j++) {}
  if (j >= n || s[j] != s[i]) return 0;
  len = j - i - 1;
  if (len >= size || memchr(lits + i + 1, '\\', len)) return 0;
  memcpy(out, lits + i + 1, len);
  out[len] = '\0';
  for (j++; j < n && (s[j] == ' ' || s[j] == '\t'); j++) {}
  return j >= n || s[j] == ',' || s[j] == ')' || s[j] == '\n' || s[j] == ';';
}

static int line_of(const char *s, size_t at) {
  int line = 1;
  size_t i;
  for (i = 0; i < at; i++)
    if (s[i] == '\n') line++;
  return line;
}

/* Whether s[at..] starts the call `name` (not part of a longer name). */
static int call_at(const char *s, size_t n, size_t at, const char *name) {
  size_t len = strlen(name);
  if (at + len > n || memcmp(s + at, name, len) != 0) return 0;
  if (at > 0 && (s[at - 1] == '_' || s[at - 1] == '.' ||
                 (s[at - 1] >= 'a' && s[at - 1] <= 'z') ||
                 (s[at - 1] >= 'A' && s[at - 1] <= 'Z') ||
                 (s[at - 1] >= '0' && s[at - 1] <= '9')))
    return 0;
  return 1;
}

/* Keeps a hook point the code names, for the load pass to define. */
static void note_hook(checker *c, const char *name) {
  int i;
  if (strlen(name) >= sizeof c->hooks[0]) return;  /* not a valid name */
  for (i = 0; i < c->nhooks; i++)
    if (strcmp(c->hooks[i], name) == 0) return;
  if (c->nhooks < MAX_HOOK_NAMES) strcpy(c->hooks[c->nhooks++], name);
}

/* What follows capability `cap` in plugin.yaml, for a problem's advice:
** the two that take lists would declare nothing as `{}` (a warning of its
** own); the others take no more. */
static const char *declaration(const char *cap) {
  if (strcmp(cap, "hooks") == 0) return ": [record]";
  if (strcmp(cap, "events") == 0) return ": { emit: [...], on: [...] }";
  return ": {}";
}

static void scan(checker *c, const char *file, char *s, size_t n) {
  static const char *const known[] = {"hooks", "events", "storage", "log",
                                      "time", "json", "config", NULL};
  const lplug_value *caps = c->m->capabilities;
  char *lits = malloc(n ? n : 1), arg[256];
  size_t i;
  if (lits == NULL) return;
  blank(s, n, lits);
  for (i = 0; i < n; i++) {
    if (call_at(s, n, i, "require") &&
        literal_arg(s, lits, n, i + 7, arg, sizeof arg) &&
        strncmp(arg, "lplug.", 6) == 0) {
      const char *mod = arg + 6;
      int k;
      for (k = 0; known[k] && strcmp(known[k], mod) != 0; k++) {}
      if (known[k] == NULL)
        problem(c, "%s/%s:%d: require '%s': no such module (lplug has: "
                "lplug.hooks, .events, .storage, .log, .time, .json, "
                ".config)", c->dir, file, line_of(s, i), arg);
      else if (!caps_allows(caps, 0, mod, NULL))
        problem(c, "%s/%s:%d: requires '%s', but plugin.yaml does not declare "
                "capability '%s' (add it under capabilities:, e.g. '%s%s')",
                c->dir, file, line_of(s, i), arg, mod, mod, declaration(mod));
    } else if (call_at(s, n, i, "hooks.on") &&
               literal_arg(s, lits, n, i + 8, arg, sizeof arg)) {
      note_hook(c, arg);
      if (!caps_allows(caps, 0, "hooks", arg))
        problem(c, "%s/%s:%d: hooks.on('%s'): hook point not listed in "
                "plugin.yaml (add it to capabilities: { hooks: [...] })",
                c->dir, file, line_of(s, i), arg);
    } else if (call_at(s, n, i, "events.emit") &&
               literal_arg(s, lits, n, i + 11, arg, sizeof arg) &&
               !caps_allows(caps, 0, "events.emit", arg)) {
      problem(c, "%s/%s:%d: events.emit('%s'): topic not covered by "
              "plugin.yaml (add it to capabilities: { events: { emit: "
              "[...] } })", c->dir, file, line_of(s, i), arg);
    } else if (call_at(s, n, i, "events.on") &&
               literal_arg(s, lits, n, i + 9, arg, sizeof arg) &&
               !caps_allows(caps, 0, "events.on", arg)) {
      problem(c, "%s/%s:%d: events.on('%s'): pattern not covered by "
              "plugin.yaml (add it to capabilities: { events: { on: [...] "
              "} })", c->dir, file, line_of(s, i), arg);
    }
  }
  free(lits);
}

/* Compiles file `rel`, read from path (and scans it unless it is a
** spec). */
static void check_file(checker *c, const char *path, const char *rel,
                       int is_spec) {
  char name[8400];
  FILE *f;
  char *buf;
  long size;
  lua_State *L = c->sb.L;
  f = fopen(path, "rb");
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
      size > SANDBOX_MAX_SOURCE || fseek(f, 0, SEEK_SET) != 0) {
    problem(c, "%s/%s:1: cannot read the file, or it is over %d bytes",
            c->dir, rel, SANDBOX_MAX_SOURCE);
    if (f) fclose(f);
    return;
  }
  buf = malloc((size_t)size + 1);
  if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
    problem(c, "%s/%s:1: cannot read the file", c->dir, rel);
    fclose(f);
    free(buf);
    return;
  }
  fclose(f);
  snprintf(name, sizeof name, "@%s/%s", c->dir, rel);
  if (luaL_loadbufferx(L, buf, (size_t)size, name, "t") != LUA_OK)
    problem(c, "%s", lua_tostring(L, -1));
  lua_settop(L, SANDBOX_MSGH);
  lua_gc(L, LUA_GCCOLLECT, 0);
  if (!is_spec) scan(c, rel, buf, (size_t)size);
  free(buf);
}

/* Whether root/rel, which lstat gave *st, is a file of the folder: not
** a link, or a link that resolves inside root (into path, and *st then
** what it points to), as require and main: accept.  A link out of the
** folder is a problem, said as loading it would say it, and never read:
** one to /etc/passwd was compiled and a token of it printed. */
static int inside(checker *c, const char *root, const char *rel, char *path,
                  struct stat *st) {
  char real[PATH_MAX];
  size_t n = strlen(root);
  if (!S_ISLNK(st->st_mode)) return 1;
  if (realpath(path, real) == NULL) return 0;      /* dangling: no file */
  if (strncmp(real, root, n) != 0 || real[n] != '/') {
    problem(c, "%s/%s: cannot load '%s': it resolves outside the plugin "
            "folder (a link to '%s'; lplug loads only the folder's own "
            "files)", c->dir, rel, rel, real);
    return 0;
  }
  if (stat(real, st) != 0) return 0;
  strcpy(path, real);   /* both PATH_MAX or more */
  return 1;
}

/* Every .lua file under root/rel, depth first, in name order.  Linked
** folders are not entered: links back up made the walk visit the same
** folders millions of times (10 links to '.' took minutes), and one to
** '..' left the plugin.  At most MAX_FILES files and as many folders are
** read; past that a problem says the rest was not checked. */
static void walk(checker *c, const char *root, const char *rel, int depth) {
  char path[8320], sub[4096];
  struct dirent **names;
  int n, i;
  snprintf(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel);
  if (c->dirs++ == MAX_FILES)
    problem(c, "%s: more than %d folders; the rest were not checked",
            c->dir, MAX_FILES);
  if (c->dirs > MAX_FILES ||
      (n = scandir(path, &names, NULL, alphasort)) < 0)
    return;
  for (i = 0; i < n; i++) {
    const char *d = names[i]->d_name;
    struct stat st;
    size_t len = strlen(d);
    snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", d);
    snprintf(path, sizeof path, "%s/%s", root, sub);
    if (d[0] == '.' || lstat(path, &st) != 0) {
      /* hidden, or gone */
    } else if (S_ISDIR(st.st_mode)) {
      if (depth < 8) walk(c, root, sub, depth + 1);
    } else if (len > 4 && strcmp(d + len - 4, ".lua") == 0 &&
               inside(c, root, sub, path, &st) && S_ISREG(st.st_mode)) {
      if (c->files++ == MAX_FILES)
        problem(c, "%s: more than %d .lua files; the rest were not checked",
                c->dir, MAX_FILES);
      if (c->files <= MAX_FILES)
        check_file(c, path, sub, strncmp(sub, "spec/", 5) == 0);
    }
    free(names[i]);
  }
  free(names);
}

/* Where the manifest field `path` ("capabilities.storage.quota") is
** written, as "DIR/plugin.yaml:line:col" into out: the place of the
** deepest key of the path the file has.  0 when it has not the first. */
static int field_place(checker *c, const char *path, char *out, size_t n) {
  char file[4200], err[256], *text;
  size_t len, klen;
  ytree_node *root = NULL;
  const ytree_node *at, *next, *found = NULL;
  int i;
  snprintf(file, sizeof file, "%s/plugin.yaml", c->dir);
  if (ytree_read_file(file, MANIFEST_MAX_BYTES, 1, &text, &len, err,
                      sizeof err) != LPLUG_OK)
    return 0;
  if (ytree_parse(text, len, file, &root, err, sizeof err) != LPLUG_OK)
    root = NULL;
  free(text);
  for (at = root; at && at->type == YT_MAP && *path; at = next) {
    klen = strcspn(path, ".");
    next = NULL;
    for (i = 0; next == NULL && i + 1 < at->n; i += 2)
      if (at->kids[i]->len == klen &&
          memcmp(at->kids[i]->text, path, klen) == 0)
        next = at->kids[i + 1];
    if (next == NULL) break;
    found = next;
    path += klen + (path[klen] == '.');
  }
  if (found) snprintf(out, n, "%s:%d:%d", file, found->line, found->col);
  ytree_free(root);
  return found != NULL;
}

/* Skips "12" or "12:7" at s. */
static const char *skip_place_digits(const char *s) {
  s += strspn(s, "0123456789");
  if (s[0] == ':' && s[1] >= '0' && s[1] <= '9')
    s += 1 + strspn(s + 1, "0123456789");
  return s;
}

/* The place a load error names inside its text, cut out of it: a value
** of the settings file ("set by the host at l.yaml:4:22", which stays
** "set by the host"), a manifest line ("DIR/plugin.yaml:5:11: ") or a
** line of the plugin's Lua ("NAME/lib/x.lua:3: ", the chunk's name,
** reported as DIR/lib/x.lua:3).  Returns 1 (1 + is_host for the settings
** file), place and text filled; 0 when the text names no place. */
static int cut_place(checker *c, const char *msg, char *place, size_t pn,
                     char *text, size_t tn) {
  char prefix[4200];
  const char *p, *q;
  size_t nlen = strlen(c->m->name);
  if ((p = strstr(msg, "set by the host at ")) != NULL) {
    p += 15;                                   /* at " at FILE:L:C" */
    q = p + 4 + strcspn(p + 4, ",)");
    snprintf(place, pn, "%.*s", (int)(q - p - 4), p + 4);
    snprintf(text, tn, "%.*s%s", (int)(p - msg), msg, q);
    return 2;
  }
  snprintf(prefix, sizeof prefix, "%s/plugin.yaml:", c->dir);
  if ((p = strstr(msg, prefix)) != NULL) {
    q = skip_place_digits(p + strlen(prefix));
    snprintf(place, pn, "%.*s", (int)(q - p), p);
    if (q[0] == ':' && q[1] == ' ') q += 2;
    snprintf(text, tn, "%.*s%s", (int)(p - msg), msg, q);
    return 1;
  }
  for (p = strstr(msg, ".lua:"); p; p = strstr(p + 1, ".lua:")) {
    const char *start = p;
    while (start > msg && start[-1] != ' ' && start[-1] != '\'') start--;
    if (strncmp(start, c->m->name, nlen) != 0 || start[nlen] != '/' ||
        p[5] < '0' || p[5] > '9')
      continue;
    q = skip_place_digits(p + 5);
    snprintf(place, pn, "%s/%.*s", c->dir, (int)(q - start - nlen - 1),
             start + nlen + 1);
    if (q[0] == ':' && q[1] == ' ') q += 2;
    snprintf(text, tn, "%.*s%s", (int)(start - msg), msg, q);
    return 1;
  }
  return 0;
}

/* The manifest field a load error is about: "plugin 'x': config.key: ..."
** names it; "cannot load 'f.lua'" is about main:.  Into out, or 0. */
static int error_field(const char *msg, char *out, size_t n) {
  const char *p = strstr(msg, "': ");
  size_t len;
  if (strstr(msg, "cannot load '") != NULL)
    return snprintf(out, n, "main") > 0;
  if (strncmp(msg, "plugin '", 8) != 0 || p == NULL) return 0;
  p += 3;
  len = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.-");
  if (len == 0 || len >= n || p[len] != ':') return 0;
  snprintf(out, n, "%.*s", (int)len, p);
  return 1;
}

/* Reports a load error once, "place: text", at the place it is about:
** one the text names (cut out of it), else the line of plugin.yaml
** holding the field it names, else plugin.yaml itself (no line is to
** blame).  With `only_config` (the code has problems already, which
** are the likely cause) only a settings-file value is reported. */
static void report_load_error(checker *c, const char *msg, int only_config) {
  char place[4300], text[2048], field[128];
  int where = cut_place(c, msg, place, sizeof place, text, sizeof text);
  if (only_config && where != 2) return;
  if (where) {
    problem(c, "%s: %s", place, text);
  } else if (error_field(msg, field, sizeof field) &&
             field_place(c, field, place, sizeof place)) {
    problem(c, "%s: %s", place, msg);
  } else {
    problem(c, "%s/plugin.yaml: %s", c->dir, msg);
  }
}

/* Defines the hook points a host would offer the plugin: `record` (what
** `lplug run` defines), every name capabilities.hooks lists (a list or
** one name; patterns such as "*" or "http.*" are not names and are
** skipped) and every name the code passes literally to hooks.on.  With
** only the listed names, `hooks: ["*"]` left none, and a plugin that
** `run` loads failed here.  A name the code builds at run time under a
** pattern is not known, and its hooks.on fails the load. */
static void define_hooks(checker *c, lplug_engine *e) {
  const lplug_value *caps = c->m->capabilities;
  const char *name;
  size_t at, x;
  long long i;
  int k;
  lplug_hook_define(e, "record", 0, NULL);
  if (lplug_value_field(caps, 0, "hooks", &at)) {
    if ((name = lplug_value_string(caps, at, NULL)) != NULL)
      lplug_hook_define(e, name, 0, NULL);   /* invalid or there: ignored */
    for (i = 1; lplug_value_index(caps, at, i, &x); i++)
      if ((name = lplug_value_string(caps, x, NULL)) != NULL)
        lplug_hook_define(e, name, 0, NULL);
  }
  for (k = 0; k < c->nhooks; k++) lplug_hook_define(e, c->hooks[k], 0, NULL);
}

/* Loads the plugin; with `only_config` (the code has problems already)
** reports only what the configuration's check says. */
static void check_load(checker *c, const char *dir, const lplug_host *host,
                       int only_config) {
  lplug_config config;
  lplug_engine *e;
  size_t i;
  for (i = 0; i < c->m->ndepends; i++)
    if (c->m->deps[i].kind == MANIFEST_REQUIRES) return;  /* needs others */
  memset(&config, 0, sizeof config);
  if (host) lplug_host_configure(host, &config);
  config.storage_path = NULL;   /* never touch the host's data */
  config.grant = lplug_grant_declared;
  e = lplug_engine_new(&config);
  if (e == NULL) return;
  define_hooks(c, e);
  if (host && lplug_host_apply_config(host, e) != LPLUG_OK)
    report_load_error(c, lplug_errmsg(e), 0);   /* the settings' */
  else if (lplug_load_plugin(e, dir) != LPLUG_OK)
    report_load_error(c, lplug_errmsg(e), only_config);
  lplug_engine_free(e);
}

int lplug_check_plugin(const char *dir, const lplug_host *host,
                       lplug_problem_fn fn, void *ud) {
  checker c;
  manifest *m = NULL;
  sandbox_config sc;
  char path[4096], real[4096], err[2048];
  int rc;
  if (dir == NULL) return LPLUG_EINVAL;
  memset(&c, 0, sizeof c);
  c.dir = dir;
  c.fn = fn;
  c.ud = ud;
  snprintf(path, sizeof path, "%s/plugin.yaml", dir);
  rc = manifest_load(path, &m, err, sizeof err, manifest_warning, &c);
  if (rc == LPLUG_ENOMEM) return rc;
  if (rc != LPLUG_OK) {
    problem(&c, "%s%s", strchr(err, ':') ? "" : "plugin.yaml:1: ", err);
    return c.problems;
  }
  c.m = m;
  if (realpath(dir, real) == NULL) {
    manifest_free(m);
    return LPLUG_EIO;
  }
  memset(&sc, 0, sizeof sc);
  sc.name = m->name;
  sc.dir = real;
  sc.memory_limit = CHECK_MEMORY;
  sc.open_module = no_module;
  if (sandbox_open(&c.sb, &sc, err, sizeof err) != 0) {
    manifest_free(m);
    return LPLUG_ENOMEM;
  }
  walk(&c, real, "", 0);
  sandbox_close(&c.sb);
  check_load(&c, dir, host, c.problems > 0);
  manifest_free(m);
  return c.problems;
}
