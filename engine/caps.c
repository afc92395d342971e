/*
** caps.c -- see caps.h.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/caps.h"
#include "engine/internal.h"

/* Position of `cap` inside the table at `at`, or 0 when absent.
** "events.emit" looks up events, then emit inside it; an `events: true`
** (or false, or "*") stands for every part of events. */
static int locate(const lplug_value *caps, size_t at, const char *cap,
                  size_t *out) {
  const char *dot = strchr(cap, '.');
  if (caps == NULL) return 0;
  if (dot != NULL) {
    char head[64];
    size_t n = (size_t)(dot - cap);
    if (n >= sizeof head) return 0;
    memcpy(head, cap, n);
    head[n] = '\0';
    if (!lplug_value_field(caps, at, head, out)) return 0;
    if (lplug_value_type(caps, *out) == LPLUG_TTABLE &&
        !lplug_value_field(caps, *out, dot + 1, out))
      return 0;
  } else if (!lplug_value_field(caps, at, cap, out)) {
    return 0;
  }
  return 1;
}

int caps_names(const lplug_value *caps, size_t at, const char *cap) {
  size_t c;
  return locate(caps, at, cap, &c) && lplug_value_type(caps, c) != LPLUG_TNIL;
}

/* Like locate, but nil and false count as absent. */
static int find(const lplug_value *caps, size_t at, const char *cap,
                size_t *out) {
  if (!locate(caps, at, cap, out)) return 0;
  switch (lplug_value_type(caps, *out)) {
    case LPLUG_TNIL: return 0;
    case LPLUG_TBOOLEAN: return lplug_value_boolean(caps, *out);
    default: return 1;
  }
}

int caps_allows(const lplug_value *caps, size_t at, const char *cap,
                const char *item) {
  size_t c, v;
  if (!find(caps, at, cap, &c)) return 0;
  if (item == NULL) return 1;
  switch (lplug_value_type(caps, c)) {
    case LPLUG_TSTRING:
      return events_match(lplug_value_string(caps, c, NULL), item);
    case LPLUG_TTABLE: {  /* the list's entries; an empty one lets none */
      long long i;
      for (i = 1; lplug_value_index(caps, c, i, &v); i++) {
        const char *s = lplug_value_string(caps, v, NULL);
        if (s && events_match(s, item)) return 1;
      }
      return 0;
    }
    default:
      return 1;  /* `cap: true` */
  }
}

void caps_list(const lplug_value *caps, size_t at, const char *cap, char *out,
               size_t n) {
  size_t c, v, used = 0;
  long long i;
  out[0] = '\0';
  if (!find(caps, at, cap, &c)) return;
  if (lplug_value_type(caps, c) == LPLUG_TSTRING) {
    snprintf(out, n, "%s", lplug_value_string(caps, c, NULL));
    return;
  }
  for (i = 1; lplug_value_index(caps, c, i, &v) && used < n; i++) {
    const char *s = lplug_value_string(caps, v, NULL);
    if (s) used += (size_t)snprintf(out + used, n - used, "%s%s",
                                    used ? ", " : "", s);
  }
}

/* ---- checking a capabilities mapping as written --------------------- */

typedef struct checker {
  const char *field;          /* "capabilities", "grants.counter" */
  caps_problem_fn fn;
  void *ud;
  int errors;
} checker;

static void say(checker *c, const ytree_node *at, int error, const char *fmt,
                ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  c->errors += error;
  c->fn(c->ud, at, error, msg);
}

/* A hook point name as lplug_hook_define takes it: 1-64 bytes of
** [A-Za-z0-9_.:-]. */
static int hook_name(const char *s) {
  size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_.:-");
  return n > 0 && n <= 64 && s[n] == '\0';
}

/* One item of a list: a string that some hook name or topic can match
** ("*" matches all).  Anything else is an error: it would match nothing,
** so what the author meant to declare would fail at run time instead. */
static void item(checker *c, const ytree_node *v, const char *path,
                 int hooks) {
  const char *what = hooks ? "a hook name or pattern (e.g. record)"
                           : "a topic pattern (e.g. \"counter.*\")";
  long long x;
  double d;
  int b;
  if (v->type != YT_SCALAR || ytree_is_null(v)) {
    say(c, v, 1, "%s: expected %s, got %s", path, what,
        ytree_is_null(v) ? "nothing" : ytree_type_name(v));
  } else if (ytree_is_bool(v, &b) || ytree_is_int(v, &x) ||
             ytree_is_float(v, &d)) {
    say(c, v, 1, "%s: %s is %s, which names nothing (quote it, \"%s\", to "
        "name it)", path, v->text, ytree_is_bool(v, &b) ? "a boolean" :
        "a number", v->text);
  } else if (strlen(v->text) != v->len ||
             !(events_valid(v->text, 1) || (hooks && hook_name(v->text)))) {
    say(c, v, 1, "%s: '%s' is not %s: %s, so it matches nothing", path,
        v->text, what, hooks ? "1-64 characters of [A-Za-z0-9_.:-], '*' "
        "for a whole dot-separated word" : "dot-separated words of "
        "[A-Za-z0-9_:-], '*' for a whole word");
  }
}

/* A value that stands for a whole capability or list: true, false, "*". */
static int whole(const ytree_node *v) {
  int b;
  return ytree_is_bool(v, &b) ||
         (v->type == YT_SCALAR && strcmp(v->text, "*") == 0);
}

/* A list of items (hooks:, events.emit:, events.on:): a sequence, one
** string, or a whole. */
static void list(checker *c, const ytree_node *v, const char *path,
                 int hooks) {
  int i;
  if (whole(v)) return;
  if (v->type == YT_SEQ) {
    for (i = 0; i < v->n; i++) item(c, v->kids[i], path, hooks);
  } else if (v->type == YT_SCALAR && !ytree_is_null(v)) {
    item(c, v, path, hooks);
  } else {
    say(c, v, 0, "%s: expected a list of %s (e.g. %s), true or \"*\"; got "
        "%s, which declares nothing", path, hooks ? "hook names" : "topic "
        "patterns", hooks ? "[record]" : "[\"counter.*\"]",
        ytree_is_null(v) ? "nothing" : ytree_type_name(v));
  }
}

/* A capability with settings (`keys`, NULL: none) rather than a list. */
static void settings(checker *c, const ytree_node *v, const char *path,
                     const char *name, const char *const *keys) {
  char sub[160], allowed[64] = "";
  int k, i;
  if (whole(v)) return;
  if (v->type != YT_MAP) {
    say(c, v, 0, "%s: expected a mapping ({}), true or false; got %s%s",
        path, ytree_is_null(v) ? "nothing" : ytree_type_name(v),
        ytree_is_null(v) ? ", which declares nothing (write {} to declare "
        "it)" : "");
    return;
  }
  for (i = 0; keys && keys[i]; i++)
    snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed),
             "%s%s", i ? ", " : "", keys[i]);
  for (k = 0; k + 1 < v->n; k += 2) {
    const ytree_node *key = v->kids[k], *x = v->kids[k + 1];
    for (i = 0; keys && keys[i] && strcmp(keys[i], key->text) != 0; i++) {}
    snprintf(sub, sizeof sub, "%.100s.%.50s", path, key->text);
    if (keys == NULL || keys[i] == NULL)
      say(c, key, 0, "unknown key '%s' (ignored; %s %s %s)", sub, name,
          keys ? "takes" : "takes no settings: write", keys ? allowed :
          "{}");
    else if (strcmp(name, "events") == 0)
      list(c, x, sub, 0);
  }
}

int caps_check(const ytree_node *map, const char *field, caps_problem_fn fn,
               void *ud) {
  static const char *const events[] = {"emit", "on", NULL};
  static const char *const storage[] = {"quota", NULL};
  static const char *const names[] = {"hooks", "events", "storage", "log",
                                      "time", "json", "config", NULL};
  checker c;
  char path[160];
  int k, i;
  c.field = field;
  c.fn = fn;
  c.ud = ud;
  c.errors = 0;
  if (map == NULL || map->type != YT_MAP) return 0;
  for (k = 0; k + 1 < map->n; k += 2) {
    const ytree_node *key = map->kids[k], *v = map->kids[k + 1];
    for (i = 0; names[i] && strcmp(names[i], key->text) != 0; i++) {}
    snprintf(path, sizeof path, "%.80s.%.60s", field, key->text);
    if (names[i] == NULL)
      say(&c, key, 0, "unknown key '%s' (ignored; the capabilities are "
          "hooks, events, storage, log, time, json, config)", path);
    else if (i == 0)
      list(&c, v, path, 1);
    else
      settings(&c, v, path, names[i], i == 1 ? events : i == 2 ? storage
                                                                : NULL);
  }
  return c.errors;
}
