/*
** json.c -- JSON text (RFC 8259) to and from encoded values.  Decoding
** feeds the public builder; encoding walks a value with the public
** reader (lplug_value_next and friends).  Uses value.c and the C library.
**
** Choices:
**   - Numbers without fraction or exponent that fit in 64 bits become
**     integers, every other number a float; a number too large for a
**     double (1e400) is a parse error.
**   - Strings may hold any bytes but control characters; \u escapes
**     become UTF-8 (surrogate pairs joined; a lone surrogate is an
**     error); \u0000 gives an embedded NUL.  Other bytes pass as they are.
**   - null in an object means the key is absent; in an array it is a
**     hole (nil), and holes at the end vanish as in Lua.
**   - Duplicate keys are all kept; reading, as in Lua, the last one wins.
**   - Encoding: a non-empty table whose entries are all in the array
**     part is an array (holes become null); every other table is an
**     object, non-string keys written as strings ("1", "2.5", "true";
**     infinite ones "inf" and "-inf", as Lua's tostring says them).
**     The empty table is written {}: a record whose fields were all
**     removed stays an object; [] reads back as the same empty table.
**   - Strings are escaped where JSON requires it (quote, backslash,
**     control characters); other bytes are written as they are, so a
**     string that is not UTF-8 gives text that is not UTF-8.
**   - Floats use the shortest of %.15g, %.16g, %.17g that reads back to
**     the same double, and always look like floats (1.0, 1e+300);
**     NaN and infinities are written null.  Numbers do not depend on the
**     C locale (the decimal point is swapped both ways).
*/
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/json.h"

/*
** {======================================================
** Decoding
** =======================================================
*/

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
} parser;

/* "line L, column C: message"; columns count characters, not bytes. */
static int error_at(parser *j, const char *at, const char *fmt, ...) {
  const char *q;
  int line = 1, col = 1, n = 0;
  va_list ap;
  if (j->failed) return 0;
  j->failed = 1;
  if (j->errsize == 0) return 0;
  for (q = j->text; q < at; q++) {
    if (*q == '\n') { line++; col = 1; }
    else if (((unsigned char)*q & 0xc0) != 0x80) col++;
  }
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
  if (j->tmpcap - j->tmplen < n) {
    size_t cap = j->tmpcap ? j->tmpcap : 64;
    char *t;
    while (cap - j->tmplen < n) {
      if (cap > (size_t)-1 / 2) return j->failed = j->oom = 1, 0;
      cap *= 2;
    }
    if ((t = realloc(j->tmp, cap)) == NULL) return j->failed = j->oom = 1, 0;
    j->tmp = t;
    j->tmpcap = cap;
  }
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

/* The string at j->p (on its quote) goes to the builder.  Strings
** without escapes are passed straight from the text. */
static int parse_string(parser *j) {
  const char *open = j->p, *run;
  j->p++;
  run = j->p;
  while (j->p < j->end && *j->p != '"' && *j->p != '\\' &&
         (unsigned char)*j->p >= 0x20)
    j->p++;
  if (j->p < j->end && *j->p == '"') {               /* the fast path */
    lplug_build_string(j->b, run, (size_t)(j->p - run));
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
      while (j->p < j->end && *j->p != '"' && *j->p != '\\' &&
             (unsigned char)*j->p >= 0x20)
        j->p++;
      if (!tmp_add(j, run, (size_t)(j->p - run))) return 0;
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
  lplug_build_string(j->b, j->tmp, j->tmplen);
  j->p++;
  return 1;
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
        if (!parse_string(j)) return 0;
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
  size_t max;                 /* the most text to make */
} text;

static void put(text *t, const char *s, size_t n) {
  if (t->oom) return;
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

/* The shortest %.Ng (N = 15..17) that reads back to d, with '.' as the
** decimal point whatever the locale, and ".0" when it looks like an
** integer. */
static void put_float(text *t, double d) {
  char buf[48], *q;
  const char *point = localeconv()->decimal_point;
  size_t plen = strlen(point);
  int prec;
  for (prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  if (plen > 0 && (point[0] != '.' || plen > 1) &&
      (q = strstr(buf, point)) != NULL) {
    *q = '.';
    memmove(q + 1, q + plen, strlen(q + plen) + 1);
  }
  if (strpbrk(buf, ".eni") == NULL) strcat(buf, ".0");
  put(t, buf, strlen(buf));
}

static void put_value(text *t, const lplug_value *v, size_t at);

/* An object key: strings as they are, other keys as their JSON text in
** quotes.  Array entries (virtual key positions past the buffer, see
** value.c) are integers. */
static void put_key(text *t, const lplug_value *v, size_t k) {
  size_t n;
  const char *s = lplug_value_string(v, k, &n);
  text tmp = {NULL, 0, 0, 0, (size_t)-1};
  if (s != NULL) {
    put_string(t, s, n);
    return;
  }
  if (lplug_value_type(v, k) == LPLUG_TFLOAT &&
      isinf(lplug_value_float(v, k, NULL))) {  /* not null: two would clash */
    if (lplug_value_float(v, k, NULL) > 0) put(t, "\"inf\"", 5);
    else put(t, "\"-inf\"", 6);
    return;
  }
  put_value(&tmp, v, k);                     /* number or boolean */
  if (tmp.oom) t->oom = 1;
  else put_string(t, tmp.s, tmp.len);
  free(tmp.s);
}

static void put_table(text *t, const lplug_value *v, size_t at) {
  size_t it = 0, k, x;
  long long next = 1;
  int array = 1, first = 1;
  while (lplug_value_next(v, at, &it, &k, &x))
    if (k < v->len) { array = 0; break; }    /* a key with bytes: hash */
  if (it == 0) array = 0;                    /* empty: {} */
  put(t, array ? "[" : "{", 1);
  it = 0;
  while (lplug_value_next(v, at, &it, &k, &x)) {
    if (!first) put(t, ",", 1);
    first = 0;
    if (array) {
      long long i = lplug_value_integer(v, k, NULL);
      for (; next < i; next++) put(t, "null,", 5);   /* holes */
      next = i + 1;
    } else {
      put_key(t, v, k);
      put(t, ":", 1);
    }
    put_value(t, v, x);
  }
  put(t, array ? "]" : "}", 1);
}

static void put_value(text *t, const lplug_value *v, size_t at) {
  char buf[32];
  double d;
  switch (lplug_value_type(v, at)) {
    case LPLUG_TBOOLEAN:
      if (lplug_value_boolean(v, at)) put(t, "true", 4);
      else put(t, "false", 5);
      break;
    case LPLUG_TINTEGER:
      snprintf(buf, sizeof buf, "%lld", lplug_value_integer(v, at, NULL));
      put(t, buf, strlen(buf));
      break;
    case LPLUG_TFLOAT:
      d = lplug_value_float(v, at, NULL);
      if (isfinite(d)) put_float(t, d);
      else put(t, "null", 4);
      break;
    case LPLUG_TSTRING: {
      size_t n;
      const char *s = lplug_value_string(v, at, &n);
      put_string(t, s, n);
      break;
    }
    case LPLUG_TTABLE: put_table(t, v, at); break;
    default: put(t, "null", 4); break;
  }
}

char *json_encode(const lplug_value *v, size_t at, size_t max,
                  size_t *len) {
  text t = {NULL, 0, 0, 0, max};
  put_value(&t, v, at);
  put(&t, "", 0);                            /* makes sure there is room */
  if (t.oom || t.s == NULL) {
    free(t.s);
    if (len) *len = t.len > max ? t.len : 0;
    return NULL;
  }
  t.s[t.len] = 0;
  if (len) *len = t.len;
  return t.s;
}

/* }====================================================== */
