/*
** check.c -- lplug_check_plugin: what `lplug check` finds wrong with a
** plugin folder before a host loads it.
**
** Three passes, each reporting "file:line: message":
**   1. the manifest parses (manifest.c says where it does not);
**   2. every .lua file of the folder compiles (in a sandbox state, so a
**      huge file meets the same memory limit as in a plugin), and its
**      literal uses of the lplug modules agree with the manifest:
**      require "lplug.x" of a capability not declared, hooks.on("h", ...)
**      of a hook point not listed, events.emit / events.on of topics the
**      lists do not cover.  Names built at run time are not seen;
**   3. the plugin loads in an engine that grants what it declares, with
**      the host's `config:` when a settings file is given: errors of the
**      main chunk and config values against the schema.
** Specs (spec/) run in the test host, not as plugin code: they are only
** compiled.
*/
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "lplug.h"
#include "engine/caps.h"
#include "engine/manifest.h"
#include "sandbox/sandbox.h"

#define CHECK_MEMORY (64u * 1024u * 1024u)
#define MAX_FILES 1000

typedef struct checker {
  const char *dir;            /* as the caller wrote it, for messages */
  const manifest *m;
  sandbox sb;
  lplug_problem_fn fn;
  void *ud;
  int problems, files, dirs;
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
                "capability '%s' (add it under capabilities:, e.g. '%s: {}')",
                c->dir, file, line_of(s, i), arg, mod, mod);
    } else if (call_at(s, n, i, "hooks.on") &&
               literal_arg(s, lits, n, i + 8, arg, sizeof arg) &&
               !caps_allows(caps, 0, "hooks", arg)) {
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

/* Compiles file `rel` (and scans it unless it is a spec). */
static void check_file(checker *c, const char *root, const char *rel,
                       int is_spec) {
  char path[8320], name[8400];
  FILE *f;
  char *buf;
  long size;
  lua_State *L = c->sb.L;
  snprintf(path, sizeof path, "%s/%s", root, rel);
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
               stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      if (c->files++ == MAX_FILES)
        problem(c, "%s: more than %d .lua files; the rest were not checked",
                c->dir, MAX_FILES);
      if (c->files <= MAX_FILES)
        check_file(c, root, sub, strncmp(sub, "spec/", 5) == 0);
    }
    free(names[i]);
  }
  free(names);
}

/* Where a load error points: "x/init.lua:4" inside it, as the plugin's
** file under c->dir; 0 when it names no Lua file. */
static int error_place(checker *c, const char *msg, char *out, size_t n) {
  const char *p = strstr(msg, ".lua:"), *start;
  int line;
  if (p == NULL || sscanf(p + 5, "%d", &line) != 1) return 0;
  for (start = p; start > msg && start[-1] != ' ' && start[-1] != '\''; start--) {}
  /* start is "name/file.lua": drop the plugin's name */
  {
    const char *slash = memchr(start, '/', (size_t)(p - start));
    if (slash) start = slash + 1;
  }
  snprintf(out, n, "%s/%.*s.lua:%d", c->dir, (int)(p - start), start, line);
  return 1;
}

/* Loads the plugin; with `only_config` (the code has problems already)
** reports only what the configuration's check says. */
static void check_load(checker *c, const char *dir, const lplug_host *host,
                       int only_config) {
  lplug_config config;
  lplug_engine *e;
  size_t at, x;
  long long i;
  int rc;
  for (i = 0; i < (long long)c->m->ndepends; i++)
    if (c->m->deps[i].kind == MANIFEST_REQUIRES) return;  /* needs others */
  memset(&config, 0, sizeof config);
  if (host) lplug_host_configure(host, &config);
  config.storage_path = NULL;   /* never touch the host's data */
  config.grant = lplug_grant_declared;
  e = lplug_engine_new(&config);
  if (e == NULL) return;
  if (lplug_value_field(c->m->capabilities, 0, "hooks", &at))
    for (i = 1; lplug_value_index(c->m->capabilities, at, i, &x); i++) {
      const char *h = lplug_value_string(c->m->capabilities, x, NULL);
      if (h && strcmp(h, "*") != 0) lplug_hook_define(e, h, 0, NULL);
    }
  if (host && lplug_host_apply_config(host, e) != LPLUG_OK) {
    problem(c, "%s", lplug_errmsg(e));
  } else if ((rc = lplug_load_plugin(e, dir)) != LPLUG_OK) {
    char place[4096];
    const char *msg = lplug_errmsg(e), *set = strstr(msg, "(set by the host "
                                                     "at ");
    if (set && rc == LPLUG_EMANIFEST)   /* a value of the settings file */
      problem(c, "%.*s: %.*s", (int)strcspn(set + 20, ")"), set + 20,
              (int)(set - msg - 1), msg);
    else if (only_config)
      ;
    else if (rc != LPLUG_EMANIFEST && error_place(c, msg, place, sizeof place))
      problem(c, "%s: %s", place, msg);
    else
      problem(c, "%s/plugin.yaml:1: %s", c->dir, msg);
  }
  lplug_engine_free(e);
}

int lplug_check_plugin(const char *dir, const lplug_host *host,
                       lplug_problem_fn fn, void *ud) {
  checker c;
  manifest *m = NULL;
  sandbox_config sc;
  char path[4096], real[4096], err[2048];
  int rc;
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
