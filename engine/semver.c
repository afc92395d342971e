/*
** semver.c -- semantic versions and ranges (see semver.h for the rules).
**
** Ranges are turned into plain comparators when parsed (^1.4 becomes
** >=1.4.0 and <2.0.0), so checking a version is a loop of comparisons.
*/
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "engine/semver.h"

/* A number without leading zeros, at most SEMVER_MAX_NUMBER; returns the
** end, or NULL. */
static const char *number(const char *s, unsigned long long *out) {
  const char *p = s;
  unsigned long long x = 0;
  while (isdigit((unsigned char)*p)) {
    x = x * 10 + (unsigned long long)(*p - '0');
    if (x > SEMVER_MAX_NUMBER) return NULL;
    p++;
  }
  if (p == s || (*s == '0' && p - s > 1)) return NULL;
  *out = x;
  return p;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without
** leading zeros when `strict_numbers` (pre-release, not build). */
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

/* Reads [-pre][+build] at s into v; returns the end or NULL. */
static const char *suffix(const char *s, semver *v) {
  v->pre = NULL;
  v->prelen = 0;
  if (*s == '-') {
    const char *end = identifiers(s + 1, 1);
    if (end == NULL) return NULL;
    v->pre = s + 1;
    v->prelen = (size_t)(end - v->pre);
    s = end;
  }
  if (*s == '+' && (s = identifiers(s + 1, 0)) == NULL) return NULL;
  return s;
}

static int is_wild(const char *s) {
  return *s == 'x' || *s == 'X' || *s == '*';
}

/* Reads a version of 1 to 3 numbers ("1", "1.2", "1.2.3-rc.1", "1.x")
** up to the end of the token at s (a space or NUL); the numbers given
** go in *parts, missing ones read as 0.  Returns 1 or 0. */
static int partial(const char *s, semver *v, int *parts) {
  unsigned long long *slot[3];
  int i;
  slot[0] = &v->major;
  slot[1] = &v->minor;
  slot[2] = &v->patch;
  memset(v, 0, sizeof *v);
  *parts = 0;
  for (i = 0; i < 3; i++) {
    if (is_wild(s)) {          /* 1.x, 1.2.*: the rest is wild too */
      s++;
      while (*s == '.' && is_wild(s + 1)) s += 2;
      return *s == ' ' || *s == '\0';
    }
    if ((s = number(s, slot[i])) == NULL) return 0;
    *parts = i + 1;
    if (i < 2 && *s != '.') break;
    if (i < 2) s++;
  }
  if (*parts == 3 && (s = suffix(s, v)) == NULL) return 0;
  return *s == ' ' || *s == '\0';
}

int semver_parse(const char *s, semver *out) {
  int parts;
  semver v;
  if (s == NULL || !isdigit((unsigned char)*s) || strchr(s, ' ') ||
      !partial(s, &v, &parts) || parts != 3)
    return 0;
  *out = v;
  return 1;
}

/* Compares dot-separated pre-release identifiers (semver 2.0, item 11). */
static int compare_pre(const char *a, size_t na, const char *b, size_t nb) {
  const char *ea = a + na, *eb = b + nb;
  while (a < ea && b < eb) {
    size_t la = 0, lb = 0;
    int da = 1, db = 1, c;
    while (a + la < ea && a[la] != '.') da &= !!isdigit((unsigned char)a[la++]);
    while (b + lb < eb && b[lb] != '.') db &= !!isdigit((unsigned char)b[lb++]);
    if (da && db) {            /* numeric: no leading zeros, so length */
      if (la != lb) return la < lb ? -1 : 1;
      c = memcmp(a, b, la);
    } else if (da != db) {
      return da ? -1 : 1;      /* numeric identifiers sort lower */
    } else {
      c = memcmp(a, b, la < lb ? la : lb);
      if (c == 0 && la != lb) c = la < lb ? -1 : 1;
    }
    if (c != 0) return c < 0 ? -1 : 1;
    a += la + (a + la < ea);
    b += lb + (b + lb < eb);
  }
  return (a < ea) - (b < eb);  /* more identifiers sort higher */
}

static int cmp_number(unsigned long long a, unsigned long long b) {
  return (a > b) - (a < b);
}

int semver_compare(const semver *a, const semver *b) {
  int c = cmp_number(a->major, b->major);
  if (c == 0) c = cmp_number(a->minor, b->minor);
  if (c == 0) c = cmp_number(a->patch, b->patch);
  if (c != 0) return c;
  if (a->pre == NULL || b->pre == NULL)  /* a release beats its pre */
    return (a->pre == NULL) - (b->pre == NULL);
  return compare_pre(a->pre, a->prelen, b->pre, b->prelen);
}

/* ---- ranges ------------------------------------------------------------ */

enum { OP_CARET = 10, OP_TILDE };

static int add(semver_range *r, int op, semver v, char *err, size_t errsize) {
  if (r->n == SEMVER_MAX_COMPARATORS) {
    snprintf(err, errsize, "more than %d comparators (after ^ and ~ count "
             "as two)", SEMVER_MAX_COMPARATORS);
    return 0;
  }
  r->c[r->n].op = op;
  r->c[r->n].v = v;
  r->n++;
  return 1;
}

static semver bump(const semver *v, int part) {
  semver u = {0, 0, 0, NULL, 0};  /* the lowest release after the
                                      versions v names down to `part` */
  u.major = v->major + (part == 0);
  if (part >= 1) u.minor = v->minor + (part == 1);
  if (part == 2) u.patch = v->patch + 1;
  return u;
}

/* The comparators of `op` applied to v, a version of `parts` numbers
** (0 for "*"). */
static int expand(semver_range *r, int op, const semver *v, int parts,
                  char *err, size_t errsize) {
  int last = parts - 1, first_nonzero;
  if (parts == 0)              /* "*", "x": any, whatever the operator */
    return op == SEMVER_LT ? (snprintf(err, errsize, "'<*' matches nothing"),
                              0) : 1;
  switch (op) {
    case SEMVER_GE: case SEMVER_LT:
      return add(r, op, *v, err, errsize);
    case SEMVER_GT:            /* above every version the partial names */
      return parts == 3 ? add(r, op, *v, err, errsize)
                        : add(r, SEMVER_GE, bump(v, last), err, errsize);
    case SEMVER_LE:
      return parts == 3 ? add(r, op, *v, err, errsize)
                        : add(r, SEMVER_LT, bump(v, last), err, errsize);
    case SEMVER_EQ:
      if (parts == 3) return add(r, op, *v, err, errsize);
      return add(r, SEMVER_GE, *v, err, errsize) &&
             add(r, SEMVER_LT, bump(v, last), err, errsize);
    case OP_TILDE:
      return add(r, SEMVER_GE, *v, err, errsize) &&
             add(r, SEMVER_LT, bump(v, parts == 1 ? 0 : 1), err, errsize);
    default:                   /* OP_CARET: keep the first non-zero part */
      first_nonzero = v->major ? 0 : v->minor ? 1 : 2;
      if (first_nonzero > last) first_nonzero = last;
      return add(r, SEMVER_GE, *v, err, errsize) &&
             add(r, SEMVER_LT, bump(v, first_nonzero), err, errsize);
  }
}

/* Reads an operator at *s; returns it, or -1 for none, -2 for junk. */
static int read_op(const char **s) {
  static const struct { const char *text; int op; } ops[] = {
    {">=", SEMVER_GE}, {"<=", SEMVER_LE}, {">", SEMVER_GT}, {"<", SEMVER_LT},
    {"=", SEMVER_EQ}, {"^", OP_CARET}, {"~", OP_TILDE}, {NULL, 0}
  };
  int i;
  for (i = 0; ops[i].text; i++) {
    size_t n = strlen(ops[i].text);
    if (strncmp(*s, ops[i].text, n) == 0) {
      *s += n;
      return strchr("<>=^~!", **s) && **s ? -2 : ops[i].op;
    }
  }
  return strchr("<>=^~!|", **s) && **s ? -2 : -1;
}

int semver_range_parse(const char *s, semver_range *out, char *err,
                       size_t errsize) {
  semver_range r;
  r.n = 0;
  for (;;) {
    const char *start, *ver;
    semver v;
    int op, parts;
    size_t n;
    while (*s == ' ') s++;
    if (*s == '\0') break;
    start = s;
    if (s[0] == '|' && s[1] == '|') {
      snprintf(err, errsize, "'||' (either range) is not supported: give "
               "one range, its comparators separated by spaces");
      return 0;
    }
    op = read_op(&s);
    if (op == -2) {
      n = strcspn(start, " 0123456789*xX");
      snprintf(err, errsize, "'%.*s' is not an operator (use >=, >, <=, <, "
               "=, ^ or ~)", (int)(n > 16 ? 16 : n), start);
      return 0;
    }
    if (op == -1) op = SEMVER_EQ;
    while (*s == ' ') s++;
    ver = s;
    n = strcspn(s, " ");
    if (n == 0) {
      snprintf(err, errsize, "'%.*s' needs a version after it",
               (int)(s - start > 2 ? 2 : s - start), start);
      return 0;
    }
    if (!partial(ver, &v, &parts)) {
      snprintf(err, errsize, "'%.*s' is not a version (expected MAJOR[.MINOR"
               "[.PATCH]], e.g. 1.2 or 1.2.0)", (int)(n > 64 ? 64 : n), ver);
      return 0;
    }
    if (!expand(&r, op, &v, parts, err, errsize)) return 0;
    s = ver + n;
  }
  *out = r;
  return 1;
}

static int holds(const semver_comparator *c, const semver *v) {
  int d = semver_compare(v, &c->v);
  switch (c->op) {
    case SEMVER_EQ: return d == 0;
    case SEMVER_LT: return d < 0;
    case SEMVER_LE: return d <= 0;
    case SEMVER_GT: return d > 0;
    default: return d >= 0;
  }
}

int semver_satisfies(const semver_range *r, const semver *v) {
  int i, named = v->pre == NULL;
  for (i = 0; i < r->n; i++) {
    const semver *c = &r->c[i].v;
    if (!holds(&r->c[i], v)) return 0;
    if (c->pre && c->major == v->major && c->minor == v->minor &&
        c->patch == v->patch)
      named = 1;
  }
  return named;
}
