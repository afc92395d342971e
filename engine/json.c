/*
** json.c -- JSON text (RFC 8259) to and from encoded values.  Decoding
** feeds the public builder; encoding walks a value with the public
** reader (lplug_value_next and friends).  Uses value.c and the C library.
**
** Choices:
**   - Numbers without fraction or exponent that fit in 64 bits become
**     integers, every other number a float; a number too large for a
**     double (1e400) is a parse error.
**   - Strings are UTF-8 (RFC 8259 section 8.1): bytes that are not, and
**     overlong forms (c0 af for '/'), encoded surrogates and code points
**     past U+10FFFF, are parse errors, as are control characters; \u
**     escapes become UTF-8 (surrogate pairs joined; a lone surrogate is
**     an error); \u0000 gives an embedded NUL.
**   - null in an object means the key is absent; in an array it is a
**     hole (nil), and holes at the end vanish as in Lua.
**   - A key given twice in one object is a parse error naming both
**     places: which one a reader keeps differs between parsers, so a
**     record that means one thing to lplug could mean another to the
**     tool next to it.
**   - Encoding: a non-empty table whose entries are all in the array
**     part is an array (holes become null); every other table is an
**     object, non-string keys written as strings ("1", "2.5", "true";
**     infinite ones "inf" and "-inf", as Lua's tostring says them).
**     The empty table is written {}: a record whose fields were all
**     removed stays an object; [] reads back as the same empty table.
**   - What JSON cannot hold is refused, naming its path (value.a[2]):
**     NaN and infinities, strings that are not UTF-8 (a Lua string may
**     hold any bytes; binary data has to be encoded, e.g. as hex, by
**     whoever makes it), and a table whose keys 1 and "1" would both be
**     written "1".  Nothing is changed silently into something else.
**   - Strings are escaped where JSON requires it (quote, backslash,
**     control characters); other characters are written as they are.
**   - Floats use the shortest of %.15g, %.16g, %.17g that reads back to
**     the same double, and always look like floats (1.0, 1e+300).
**     Numbers do not depend on the C locale (the decimal point is
**     swapped both ways).
*/
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/json.h"

/* Length of the UTF-8 sequence at p (1 to 4), or 0 when the bytes there
** are not UTF-8: a stray continuation byte, a sequence cut short by end,
** an overlong form, an encoded surrogate or a code point past U+10FFFF
** (RFC 3629, section 4). */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
  unsigned char c = p[0], lo = 0x80, hi = 0xbf;
  size_t n, i;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) n = 3;
  else if (c >= 0xf0 && c <= 0xf4) n = 4;
  else return 0;                        /* 80..c1 and f5..ff never start */
  if (c == 0xe0) lo = 0xa0;             /* shorter forms are overlong */
  else if (c == 0xed) hi = 0x9f;        /* d800..dfff are surrogates */
  else if (c == 0xf0) lo = 0x90;
  else if (c == 0xf4) hi = 0x8f;        /* past U+10FFFF */
  if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) return 0;
  for (i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return n;
}

/*
** {======================================================
** Decoding
** =======================================================
*/

/* A key of an open object: its decoded bytes in parser.keys, and where
** it starts in the text. */
typedef struct key_seen {
  size_t off, len;
  const char *at;
  const char *s;          /* keys + off, set when its object closes */
} key_seen;

typedef struct parser {
  const char *text, *p, *end;
  lplug_builder *b;
  char *err;
  size_t errsize;
  int failed;             /* a message is set, or oom */
  int oom;
  int depth;
  char *tmp;              /* unescaped strings and number copies */
  size_t tmplen, tmpcap;
  char *keys;             /* the keys of the open objects, decoded */
  size_t keyslen, keyscap;
  key_seen *seen;         /* one for each of them, in order */
  size_t nseen, seencap;
} parser;

/* Makes room for `n` more items of `size` bytes in *buf (holding `len`,
** room for *cap); on failure marks the parse as out of memory. */
static int grow(parser *j, void **buf, size_t *cap, size_t len, size_t n,
                size_t size) {
  size_t c = *cap ? *cap : 16;
  void *p;
  if (*cap - len >= n) return 1;
  while (c - len < n) {
    if (c > (size_t)-1 / 2 / size) return j->failed = j->oom = 1, 0;
    c *= 2;
  }
  if ((p = realloc(*buf, c * size)) == NULL) return j->failed = j->oom = 1, 0;
  *buf = p;
  *cap = c;
  return 1;
}

/* The line and column of `at`; columns count characters, not bytes. */
static void line_col(const parser *j, const char *at, int *line, int *col) {
  const char *q;
  *line = *col = 1;
  for (q = j->text; q < at; q++) {
    if (*q == '\n') { ++*line; *col = 1; }
    else if (((unsigned char)*q & 0xc0) != 0x80) ++*col;
  }
}

/* "line L, column C: message". */
static int error_at(parser *j, const char *at, const char *fmt, ...) {
  int line, col, n = 0;
  va_list ap;
  if (j->failed) return 0;
  j->failed = 1;
  if (j->errsize == 0) return 0;
  line_col(j, at, &line, &col);
  n = snprintf(j->err, j->errsize, "line %d, column %d: ", line, col);
  if (n >= 0 && (size_t)n < j->errsize) {
    va_start(ap, fmt);
    vsnprintf(j->err + n, j->errsize - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return 0;
}

/* Names what was found at j->p, for messages. */
static const char *found(parser *j, char *buf, size_t n) {
  unsigned char c;
  if (j->p >= j->end) return "the end of the text";
  c = (unsigned char)*j->p;
  if (c > 0x20 && c < 0x7f) snprintf(buf, n, "'%c'", c);
  else snprintf(buf, n, "byte 0x%02x", c);
  return buf;
}

static int expected(parser *j, const char *what) {
  char buf[16];
  return error_at(j, j->p, "expected %s, found %s", what,
                  found(j, buf, sizeof buf));
}

static void skip_ws(parser *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
                           *j->p == '\r'))
    j->p++;
}

/* Appends to tmp; on failure marks the parse as out of memory. */
static int tmp_add(parser *j, const char *s, size_t n) {
  if (n == 0) return 1;
  if (!grow(j, (void **)&j->tmp, &j->tmpcap, j->tmplen, n, 1)) return 0;
  memcpy(j->tmp + j->tmplen, s, n);
  j->tmplen += n;
  return 1;
}

static int hex4(const char *p, unsigned *out) {
  unsigned x = 0;
  int i;
  for (i = 0; i < 4; i++) {
    char c = p[i];
    x <<= 4;
    if (c >= '0' && c <= '9') x |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') x |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') x |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = x;
  return 1;
}

/* One \u escape of four hex digits (a pair for characters past U+FFFF)
** at j->p, which points at the 'u'; appends its UTF-8 to tmp. */
static int unicode_escape(parser *j) {
  const char *start = j->p - 1;
  unsigned c, lo;
  char u[4];
  size_t n;
  if (j->end - j->p < 5 || !hex4(j->p + 1, &c))
    return error_at(j, start, "expected 4 hex digits after \\u");
  j->p += 5;
  if (c >= 0xdc00 && c <= 0xdfff)
    return error_at(j, start, "lone low surrogate \\u%04x", c);
  if (c >= 0xd800 && c <= 0xdbff) {
    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
        !hex4(j->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
      return error_at(j, start, "high surrogate \\u%04x is not followed "
                      "by a low surrogate", c);
    j->p += 6;
    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
  }
  if (c < 0x80) {
    u[0] = (char)c; n = 1;
  } else if (c < 0x800) {
    u[0] = (char)(0xc0 | c >> 6); u[1] = (char)(0x80 | (c & 0x3f)); n = 2;
  } else if (c < 0x10000) {
    u[0] = (char)(0xe0 | c >> 12); u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    u[2] = (char)(0x80 | (c & 0x3f)); n = 3;
  } else {
    u[0] = (char)(0xf0 | c >> 18); u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    u[2] = (char)(0x80 | ((c >> 6) & 0x3f)); u[3] = (char)(0x80 | (c & 0x3f));
    n = 4;
  }
  return tmp_add(j, u, n);
}

/* Moves j->p past characters that stand for themselves in a string:
** up to a quote, a backslash, a control character or the end.  0 (the
** message set) at bytes that are not UTF-8. */
static int skip_plain(parser *j) {
  const unsigned char *p = (const unsigned char *)j->p,
                      *end = (const unsigned char *)j->end;
  while (p < end && *p != '"' && *p != '\\' && *p >= 0x20) {
    size_t n = *p < 0x80 ? 1 : utf8_sequence(p, end);
    if (n == 0) {
      j->p = (const char *)p;
      return error_at(j, j->p, "byte 0x%02x in a string is not UTF-8 "
                      "(JSON text is UTF-8; write other characters as "
                      "\\u escapes)", *p);
    }
    p += n;
  }
  j->p = (const char *)p;
  return 1;
}

/* The string at j->p (on its quote), unescaped, into *s and *n: in the
** text itself when it has no escapes, else in j->tmp. */
static int read_string(parser *j, const char **s, size_t *n) {
  const char *open = j->p, *run;
  j->p++;
  run = j->p;
  if (!skip_plain(j)) return 0;
  if (j->p < j->end && *j->p == '"') {               /* the fast path */
    *s = run;
    *n = (size_t)(j->p - run);
    j->p++;
    return 1;
  }
  j->tmplen = 0;                        /* the run before the escape */
  if (!tmp_add(j, run, (size_t)(j->p - run))) return 0;
  for (;;) {
    char c, e;
    if (j->p >= j->end)
      return error_at(j, open, "string is not closed");
    c = *j->p;
    if (c == '"') break;
    if ((unsigned char)c < 0x20)
      return error_at(j, j->p, "control character 0x%02x in a string "
                      "(write it as \\u%04x)", c, c);
    if (c != '\\') {
      run = j->p;
      if (!skip_plain(j) || !tmp_add(j, run, (size_t)(j->p - run)))
        return 0;
      continue;
    }
    if (++j->p >= j->end) return error_at(j, open, "string is not closed");
    switch (*j->p) {
      case '"': e = '"'; break;   case '\\': e = '\\'; break;
      case '/': e = '/'; break;   case 'b': e = '\b'; break;
      case 'f': e = '\f'; break;  case 'n': e = '\n'; break;
      case 'r': e = '\r'; break;  case 't': e = '\t'; break;
      case 'u':
        if (!unicode_escape(j)) return 0;
        continue;
      default:
        return error_at(j, j->p - 1, "unknown escape '\\%c'", *j->p);
    }
    if (!tmp_add(j, &e, 1)) return 0;
    j->p++;
  }
  *s = j->tmp;
  *n = j->tmplen;
  j->p++;
  return 1;
}

static int parse_string(parser *j) {
  const char *s;
  size_t n;
  if (!read_string(j, &s, &n)) return 0;
  lplug_build_string(j->b, s, n);
  return 1;
}

/* An object's key: to the builder, and kept until its object closes. */
static int parse_key(parser *j) {
  const char *at = j->p, *s;
  size_t n;
  key_seen *k;
  if (!read_string(j, &s, &n)) return 0;
  if (!grow(j, (void **)&j->keys, &j->keyscap, j->keyslen, n + 1, 1) ||
      !grow(j, (void **)&j->seen, &j->seencap, j->nseen, 1, sizeof *j->seen))
    return 0;
  k = &j->seen[j->nseen++];
  k->off = j->keyslen;
  k->len = n;
  k->at = at;
  memcpy(j->keys + j->keyslen, s, n);
  j->keyslen += n;
  lplug_build_string(j->b, s, n);
  return 1;
}

/* Orders keys by their bytes, then by place in the text. */
static int key_order(const void *a, const void *b) {
  const key_seen *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
  if (c != 0) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->at < y->at ? -1 : x->at > y->at;
}

/* The keys seen[first..] of the object that closes are distinct; else
** the error names the key given again first in the text, and where it
** was given before.  Sorted, a large object costs n log n. */
static int distinct_keys(parser *j, size_t first) {
  key_seen *k, *dup = NULL;
  size_t n = j->nseen - first, i;
  char shown[48];
  int line, col;
  if (n < 2) return 1;
  k = j->seen + first;                 /* seen is NULL before any key */
  for (i = 0; i < n; i++) k[i].s = j->keys + k[i].off;
  qsort(k, n, sizeof *k, key_order);
  for (i = 0; i + 1 < n; i++)
    if (k[i].len == k[i + 1].len && memcmp(k[i].s, k[i + 1].s, k[i].len) == 0
        && (dup == NULL || k[i + 1].at < dup[1].at))
      dup = &k[i];
  if (dup == NULL) return 1;
  for (i = 0; i < dup->len && i < sizeof shown - 4; i++)
    shown[i] = (unsigned char)dup->s[i] < 0x20 || dup->s[i] == '"' ? '?'
                                                              : dup->s[i];
  strcpy(shown + i, i < dup->len ? "..." : "");
  line_col(j, dup[0].at, &line, &col);
  return error_at(j, dup[1].at, "duplicate key \"%s\" (first at line %d, "
                  "column %d; an object gives each key once)", shown, line,
                  col);
}

static int is_digit(parser *j) {
  return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

static int parse_number(parser *j) {
  const char *start = j->p;
  int neg = 0, isint = 1;
  if (*j->p == '-') { neg = 1; j->p++; }
  if (!is_digit(j)) return expected(j, "a digit");
  if (*j->p == '0') {
    j->p++;
    if (is_digit(j))
      return error_at(j, start, "numbers cannot start with 0 (write 0.5, "
                      "10)");
  }
  while (is_digit(j)) j->p++;
  if (j->p < j->end && *j->p == '.') {
    isint = 0;
    j->p++;
    if (!is_digit(j)) return expected(j, "a digit after '.'");
    while (is_digit(j)) j->p++;
  }
  if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
    isint = 0;
    j->p++;
    if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
    if (!is_digit(j)) return expected(j, "a digit in the exponent");
    while (is_digit(j)) j->p++;
  }
  if (isint) {                   /* fits in 64 bits?  then an integer */
    unsigned long long u = 0, lim = neg ? 9223372036854775808ull
                                        : 9223372036854775807ull;
    const char *q;
    for (q = start + neg; q < j->p; q++) {
      unsigned d = (unsigned)(*q - '0');
      if (u > (lim - d) / 10) break;
      u = u * 10 + d;
    }
    if (q == j->p) {
      lplug_build_integer(j->b, !neg ? (long long)u
                                : u == lim ? LLONG_MIN : -(long long)u);
      return 1;
    }
  }
  {
    /* a copy for strtod, with the locale's decimal point for '.' */
    const char *q, *point = localeconv()->decimal_point;
    double d;
    j->tmplen = 0;
    for (q = start; q < j->p; q++)
      if (!(*q == '.' ? tmp_add(j, point, strlen(point)) : tmp_add(j, q, 1)))
        return 0;
    if (!tmp_add(j, "", 1)) return 0;
    d = strtod(j->tmp, NULL);
    if (isinf(d)) return error_at(j, start, "number out of range");
    lplug_build_float(j->b, d);
  }
  return 1;
}

static int parse_value(parser *j);

static int literal(parser *j, const char *word, size_t n) {
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
    return expected(j, "a value");
  j->p += n;
  return 1;
}

/* Arrays and objects: `close` is ']' or '}'. */
static int parse_container(parser *j, char close) {
  long long i = 0;
  const char *open = j->p;
  size_t first = j->nseen, keys = j->keyslen;   /* this object's keys */
  if (++j->depth > LPLUG_MAX_DEPTH)
    return error_at(j, open, "nested more than %d arrays and objects deep",
                    LPLUG_MAX_DEPTH);
  j->p++;
  lplug_build_table(j->b);
  skip_ws(j);
  if (j->p < j->end && *j->p == close) {
    j->p++;
  } else {
    for (;;) {
      if (close == ']') {
        lplug_build_integer(j->b, ++i);    /* the array part */
      } else {
        skip_ws(j);
        if (j->p >= j->end || *j->p != '"')
          return expected(j, i ? "a string key after ','" : "a string key "
                          "or '}'");
        if (!parse_key(j)) return 0;
        skip_ws(j);
        if (j->p >= j->end || *j->p != ':')
          return expected(j, "':' after the key");
        j->p++;
        i++;
      }
      if (!parse_value(j)) return 0;
      skip_ws(j);
      if (j->p < j->end && *j->p == ',') {
        j->p++;
        continue;
      }
      if (j->p < j->end && *j->p == close) {
        j->p++;
        break;
      }
      return expected(j, close == ']' ? "',' or ']' after an array element"
                                      : "',' or '}' after an object member");
    }
  }
  if (close == '}' && !distinct_keys(j, first)) return 0;
  j->nseen = first;
  j->keyslen = keys;
  lplug_build_end(j->b);
  j->depth--;
  return 1;
}

static int parse_value(parser *j) {
  skip_ws(j);
  if (j->p >= j->end) return expected(j, "a value");
  switch (*j->p) {
    case '{': return parse_container(j, '}');
    case '[': return parse_container(j, ']');
    case '"': return parse_string(j);
    case 't':
      lplug_build_boolean(j->b, 1);
      return literal(j, "true", 4);
    case 'f':
      lplug_build_boolean(j->b, 0);
      return literal(j, "false", 5);
    case 'n':
      lplug_build_nil(j->b);
      return literal(j, "null", 4);
    default:
      if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
        return parse_number(j);
      return expected(j, "a value");
  }
}

int json_decode(const char *json, size_t len, lplug_value *out, char *err,
                size_t errsize) {
  parser j;
  int rc;
  memset(&j, 0, sizeof j);
  if (err && errsize) err[0] = 0;
  j.text = j.p = json;
  j.end = json + len;
  j.err = err;
  j.errsize = err ? errsize : 0;
  if ((j.b = lplug_builder_new()) == NULL) return LPLUG_ENOMEM;
  if (parse_value(&j)) {
    skip_ws(&j);
    if (j.p < j.end) expected(&j, "the end of the text");
  }
  if (j.oom) {
    rc = LPLUG_ENOMEM;
  } else if (j.failed) {
    rc = LPLUG_EPARSE;                      /* out stays as it was */
  } else {
    rc = lplug_builder_finish(j.b, out);
    if (rc != LPLUG_OK) rc = LPLUG_ENOMEM;  /* the parser used it right */
  }
  lplug_builder_free(j.b);
  free(j.tmp);
  free(j.keys);
  free(j.seen);
  return rc;
}

/* }====================================================== */


/*
** {======================================================
** Encoding
** =======================================================
*/

typedef struct text {
  char *s;
  size_t len, cap;
  int oom;                    /* out of memory, or past max */
  int refused;                /* the value holds what JSON cannot */
  size_t max;                 /* the most text to make */
  const lplug_value *v;
  const char *root;           /* what messages call the value: "value" */
  char *err;
  size_t errsize, errlen;
  int depth;
  size_t path[LPLUG_MAX_DEPTH + 1];   /* the key entering each level */
} text;

static void put(text *t, const char *s, size_t n) {
  if (t->oom || t->refused) return;
  if (n > t->max - t->len) {  /* stops as soon as it is too long */
    t->oom = 1;
    t->len = t->max + 1;
    return;
  }
  if (t->cap - t->len <= n) {                /* keep room for the NUL */
    size_t cap = t->cap ? t->cap : 256;
    char *p;
    while (cap - t->len <= n) {
      if (cap > (size_t)-1 / 2) { t->oom = 1; return; }
      cap *= 2;
    }
    if ((p = realloc(t->s, cap)) == NULL) { t->oom = 1; return; }
    t->s = p;
    t->cap = cap;
  }
  memcpy(t->s + t->len, s, n);
  t->len += n;
}

/* Appends to the message, truncating at errsize. */
static void vadd(text *t, const char *fmt, va_list ap) {
  int n;
  if (t->errlen + 1 >= t->errsize) return;
  n = vsnprintf(t->err + t->errlen, t->errsize - t->errlen, fmt, ap);
  if (n > 0) t->errlen += (size_t)n;
  if (t->errlen >= t->errsize) t->errlen = t->errsize - 1;
}

static void add(text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vadd(t, fmt, ap);
  va_end(ap);
}

/* The text of a float: the shortest %.Ng (N = 15..17) that reads back to
** d, with '.' as the decimal point whatever the locale, and ".0" when it
** looks like an integer.  buf holds 48 bytes. */
static size_t float_text(double d, char *buf) {
  char *q;
  const char *point = localeconv()->decimal_point;
  size_t plen = strlen(point);
  int prec;
  for (prec = 15; prec <= 17; prec++) {
    snprintf(buf, 48, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  if (plen > 0 && (point[0] != '.' || plen > 1) &&
      (q = strstr(buf, point)) != NULL) {
    *q = '.';
    memmove(q + 1, q + plen, strlen(q + plen) + 1);
  }
  if (strpbrk(buf, ".eni") == NULL) strcat(buf, ".0");
  return strlen(buf);
}

/* The text of a key that is not a string, as an object writes it
** between quotes: 1, 2.5, true, inf (not null: two would clash).  buf
** holds 48 bytes. */
static size_t key_text(const lplug_value *v, size_t k, char *buf) {
  double d;
  switch (lplug_value_type(v, k)) {
    case LPLUG_TINTEGER:
      return (size_t)snprintf(buf, 48, "%lld", lplug_value_integer(v, k, NULL));
    case LPLUG_TFLOAT:
      d = lplug_value_float(v, k, NULL);
      if (isinf(d)) return (size_t)snprintf(buf, 48, d > 0 ? "inf" : "-inf");
      return float_text(d, buf);
    default:
      return (size_t)snprintf(buf, 48, lplug_value_boolean(v, k) ? "true"
                                                                 : "false");
  }
}

/* Writes the path of the first `n` levels: value.a[3]["b c"][true] */
static void add_path(text *t, int n) {
  const lplug_value *v = t->v;
  char buf[48];
  int d;
  add(t, "%s", t->root);
  for (d = 0; d < n; d++) {
    size_t k = t->path[d], len, i;
    const char *s = lplug_value_string(v, k, &len);
    int name = s != NULL && len > 0 && len <= 40 &&
               !(s[0] >= '0' && s[0] <= '9');
    if (s == NULL) {
      key_text(v, k, buf);
      add(t, "[%s]", buf);
      continue;
    }
    for (i = 0; name && i < len; i++)
      name = s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
             (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9');
    if (name) {
      add(t, ".%s", s);
      continue;
    }
    add(t, "[\"");
    for (i = 0; i < len && i < 40; i++) {
      unsigned char c = (unsigned char)s[i];
      if (c == '"' || c == '\\') add(t, "\\%c", c);
      else if (c < 0x20 || c >= 0x7f) add(t, "\\x%02x", c);
      else add(t, "%c", c);
    }
    add(t, i < len ? "...\"]" : "\"]");
  }
}

/* Refuses the value: the message is the path of the value at the current
** depth (plus `extra` levels, 0 or 1), then what follows. */
static void refuse(text *t, int extra, const char *fmt, ...) {
  va_list ap;
  if (t->refused || t->oom) return;
  t->refused = 1;
  t->errlen = 0;
  if (t->errsize == 0) return;
  t->err[0] = 0;
  add_path(t, t->depth + extra);
  va_start(ap, fmt);
  vadd(t, fmt, ap);
  va_end(ap);
}

/* Where the first byte that is not UTF-8 is in s, or n when all is. */
static size_t not_utf8(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    size_t k = *p < 0x80 ? 1 : utf8_sequence(p, end);
    if (k == 0) return (size_t)(p - (const unsigned char *)s);
    p += k;
  }
  return n;
}

static void put_string(text *t, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i, run = 0;
  put(t, "\"", 1);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t elen = 2;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    switch (c) {
      case '"': esc[1] = '"'; break;   case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;  case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;  case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        elen = 6;
    }
    put(t, s + run, i - run);
    put(t, esc, elen);
    run = i + 1;
  }
  put(t, s + run, n - run);
  put(t, "\"", 1);
}

/* A string value or key at `at`, refused when it is not UTF-8. */
static void put_text(text *t, size_t at, int is_key) {
  size_t n, bad;
  const char *s = lplug_value_string(t->v, at, &n);
  if ((bad = not_utf8(s, n)) < n) {
    if (is_key)
      refuse(t, 0, " has a key that is not UTF-8 (byte 0x%02x at offset "
             "%zu); JSON text is UTF-8", (unsigned char)s[bad], bad);
    else
      refuse(t, 0, " is not UTF-8 (byte 0x%02x at offset %zu); JSON text "
             "is UTF-8: encode binary data first, e.g. as hex",
             (unsigned char)s[bad], bad);
    return;
  }
  put_string(t, s, n);
}

static void put_value(text *t, size_t at);

/* An object key: strings as they are, other keys as their text in
** quotes.  Array entries (virtual key positions past the buffer, see
** value.c) are integers. */
static void put_key(text *t, size_t k) {
  char buf[48];
  if (lplug_value_type(t->v, k) == LPLUG_TSTRING) {
    put_text(t, k, 1);
    return;
  }
  put_string(t, buf, key_text(t->v, k, buf));
}

typedef struct key_name {
  char s[48];
  size_t k;
} key_name;

static int key_name_order(const void *a, const void *b) {
  return strcmp(((const key_name *)a)->s, ((const key_name *)b)->s);
}

/* Refuses the object at `at` when a key that is not a string is written
** as a string key it also has (1 and "1", true and "true"): the text
** would hold one key twice.  Costs a sort of the keys that are not
** strings, only in tables that mix both kinds. */
static void keys_clash(text *t, size_t at) {
  const lplug_value *v = t->v;
  size_t it = 0, k, x, nstr = 0, nother = 0, len;
  key_name *names, *hit, probe;
  const char *s;
  while (lplug_value_next(v, at, &it, &k, &x))
    if (lplug_value_type(v, k) == LPLUG_TSTRING) nstr++;
    else nother++;
  if (nstr == 0 || nother == 0) return;
  if ((names = malloc(nother * sizeof *names)) == NULL) {
    t->oom = 1;
    return;
  }
  for (it = 0, nother = 0; lplug_value_next(v, at, &it, &k, &x); )
    if (lplug_value_type(v, k) != LPLUG_TSTRING) {
      key_text(v, k, names[nother].s);
      names[nother++].k = k;
    }
  qsort(names, nother, sizeof *names, key_name_order);
  for (it = 0; lplug_value_next(v, at, &it, &k, &x); ) {
    if ((s = lplug_value_string(v, k, &len)) == NULL ||
        len >= sizeof probe.s || strlen(s) != len)
      continue;
    memcpy(probe.s, s, len + 1);
    hit = bsearch(&probe, names, nother, sizeof *names, key_name_order);
    if (hit != NULL) {
      refuse(t, 0, " has the keys %s and \"%s\", both \"%s\" in JSON "
             "(object keys are strings; use one kind of key)", hit->s, s, s);
      break;
    }
  }
  free(names);
}

static void put_table(text *t, size_t at) {
  const lplug_value *v = t->v;
  size_t it = 0, k, x;
  long long next = 1;
  int array = 1, first = 1;
  while (lplug_value_next(v, at, &it, &k, &x))
    if (k < v->len) { array = 0; break; }    /* a key with bytes: hash */
  if (it == 0) array = 0;                    /* empty: {} */
  if (!array) keys_clash(t, at);
  put(t, array ? "[" : "{", 1);
  it = 0;
  while (!t->oom && !t->refused && lplug_value_next(v, at, &it, &k, &x)) {
    if (!first) put(t, ",", 1);
    first = 0;
    if (array) {
      long long i = lplug_value_integer(v, k, NULL);
      for (; next < i; next++) put(t, "null,", 5);   /* holes */
      next = i + 1;
    } else {
      put_key(t, k);
      put(t, ":", 1);
    }
    t->path[t->depth++] = k;
    put_value(t, x);
    t->depth--;
  }
  put(t, array ? "]" : "}", 1);
}

static void put_value(text *t, size_t at) {
  char buf[48];
  double d;
  switch (lplug_value_type(t->v, at)) {
    case LPLUG_TBOOLEAN:
      if (lplug_value_boolean(t->v, at)) put(t, "true", 4);
      else put(t, "false", 5);
      break;
    case LPLUG_TINTEGER:
      snprintf(buf, sizeof buf, "%lld", lplug_value_integer(t->v, at, NULL));
      put(t, buf, strlen(buf));
      break;
    case LPLUG_TFLOAT:
      d = lplug_value_float(t->v, at, NULL);
      if (isfinite(d)) put(t, buf, float_text(d, buf));
      else refuse(t, 0, " is %s (JSON has no NaN or infinities)",
                  isnan(d) ? "NaN" : d > 0 ? "inf" : "-inf");
      break;
    case LPLUG_TSTRING:
      put_text(t, at, 0);
      break;
    case LPLUG_TTABLE:
      if (t->depth >= LPLUG_MAX_DEPTH)       /* values are checked: never */
        refuse(t, 0, " is nested too deep");
      else
        put_table(t, at);
      break;
    default: put(t, "null", 4); break;
  }
}

int json_encode_text(const lplug_value *v, size_t at, size_t max,
                     const char *root, char **out, size_t *len, char *err,
                     size_t errsize) {
  text t;
  memset(&t, 0, sizeof t);
  t.max = max;
  t.v = v;
  t.root = root ? root : "value";
  t.err = err;
  t.errsize = err ? errsize : 0;
  if (t.errsize) err[0] = 0;
  *out = NULL;
  put_value(&t, at);
  put(&t, "", 0);                            /* makes sure there is room */
  if (t.refused || t.oom || t.s == NULL) {
    free(t.s);
    *len = t.oom && t.len > max ? t.len : 0;
    return t.refused ? LPLUG_EVALUE : LPLUG_ENOMEM;
  }
  t.s[t.len] = 0;
  *out = t.s;
  *len = t.len;
  return LPLUG_OK;
}

char *json_encode(const lplug_value *v, size_t at, size_t max,
                  size_t *len) {
  char *s;
  size_t n;
  int rc = json_encode_text(v, at, max, "value", &s, &n, NULL, 0);
  if (len) *len = n;
  if (rc != LPLUG_OK) errno = rc == LPLUG_EVALUE ? EINVAL : ENOMEM;
  return s;
}

/* }====================================================== */
