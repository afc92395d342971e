/*
** value.c -- encoded values: the buffer, the builder, the reader and the
** validator (the encoding itself is described in value.h).
** Uses only the C library; value_lua.c and json.c build on top of it.
**
** Details the encoding leaves open, settled here:
**   - The 4-byte table length counts the bytes after it, up to the end of
**     the table (the two count varints included).
**   - Varints are LEB128: 7 bits per byte, low group first, high bit set
**     on every byte but the last; at most 10 bytes, nothing past 64 bits.
**   - Array parts may hold nil (holes); hash values may be nil in bytes
**     from outside (the builder never writes them), and every reader
**     treats such a pair as absent, as Lua would.
**   - Array entries have no key bytes.  The reader gives their keys
**     "virtual" positions, VKEY | index, which lplug_value_type and
**     lplug_value_integer/float read as the integer index.
*/
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/value.h"
#include "engine/json.h"

#define VKEY (((size_t)-1 >> 1) + 1)   /* top bit: a virtual array key */
#define MAX_TABLE 0xffffffffu          /* what a 4-byte length can hold */
#define VALUE_SMALL 64                 /* a buffer's first room, and what a
                                          trimmed one starts from again */

/* For a rare path GCC would inline into a hot one (see its use). */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/*
** {======================================================
** Buffer
** =======================================================
*/

int value_reserve(lplug_value *v, size_t extra) {
  size_t need, cap;
  unsigned char *p;
  if (v->cap - v->len >= extra) return LPLUG_OK;
  if (extra > (size_t)-1 - v->len) return LPLUG_ENOMEM;
  need = v->len + extra;
  cap = v->cap < VALUE_SMALL ? VALUE_SMALL : v->cap;
  while (cap < need) cap = cap > (size_t)-1 / 2 ? need : cap * 2;
  p = realloc(v->bytes, cap);
  if (p == NULL) return LPLUG_ENOMEM;
  v->bytes = p;
  v->cap = cap;
  return LPLUG_OK;
}

void value_swap(lplug_value *a, lplug_value *b) {
  lplug_value t = *a;
  *a = *b;
  *b = t;
}

void value_trim(lplug_value *v) {
  size_t keep = v->len < VALUE_SMALL ? VALUE_SMALL : v->len;
  unsigned char *p;
  if (v->cap <= VALUE_KEEP || keep >= v->cap) return;
  p = realloc(v->bytes, keep);
  if (p == NULL) return;      /* a shrink that fails keeps the old buffer */
  v->bytes = p;
  v->cap = keep;
}

/* Allocates when v has no buffer yet; if that fails v keeps len 0, which
** the engine checks once at creation. */
void value_set_nil(lplug_value *v) {
  v->len = 0;
  if (v->cap > VALUE_KEEP) value_trim(v);
  if (value_reserve(v, 1) != LPLUG_OK) return;
  v->bytes[0] = VALUE_NIL;
  v->len = 1;
}

void value_release(lplug_value *v) {
  free(v->bytes);
  v->bytes = NULL;
  v->len = v->cap = 0;
}

/* Writers for room already reserved. */
static unsigned char *put_varint(unsigned char *p, uint64_t x) {
  while (x >= 0x80) {
    *p++ = (unsigned char)(x | 0x80);
    x >>= 7;
  }
  *p++ = (unsigned char)x;
  return p;
}

static int varint_size(uint64_t x) {
  int n = 1;
  while (x >= 0x80) { x >>= 7; n++; }
  return n;
}

static uint64_t zigzag(long long x) {
  return x < 0 ? ~((uint64_t)x << 1) : (uint64_t)x << 1;
}

size_t value_encode_integer(unsigned char *p, long long x) {
  if (x >= 0 && x < 128) {
    p[0] = (unsigned char)(VALUE_SMALLINT | x);
    return 1;
  }
  p[0] = VALUE_INT;
  return (size_t)(put_varint(p + 1, zigzag(x)) - p);
}

int value_set_any_integer(lplug_value *v, long long x) {
  size_t was = v->len;
  v->len = 0;  /* nothing to copy if it must grow */
  if (v->cap < VALUE_INTEGER_MAX &&
      value_reserve(v, VALUE_INTEGER_MAX) != LPLUG_OK) {
    v->len = was;  /* a failure leaves the value as it was */
    return LPLUG_ENOMEM;
  }
  v->len = value_encode_integer(v->bytes, x);
  return LPLUG_OK;
}

static void put32(unsigned char *p, uint32_t x) {
  p[0] = (unsigned char)x;        p[1] = (unsigned char)(x >> 8);
  p[2] = (unsigned char)(x >> 16); p[3] = (unsigned char)(x >> 24);
}

/* }====================================================== */


/*
** {======================================================
** Reader (bounds-checked against an end, never past it)
** =======================================================
*/

static int get_varint(const unsigned char *p, size_t n, size_t *pos,
                      uint64_t *out) {
  uint64_t x = 0;
  size_t i = *pos;
  int shift = 0;
  for (;;) {
    unsigned c;
    if (i >= n || shift > 63) return 0;
    c = p[i++];
    if (shift == 63 && c > 1) return 0;   /* bits past 64 */
    x |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) break;
    shift += 7;
  }
  *pos = i;
  *out = x;
  return 1;
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static long long unzigzag(uint64_t u) {
  return (u & 1) ? -(long long)(u >> 1) - 1 : (long long)(u >> 1);
}

static double get_double(const unsigned char *p) {
  uint64_t u = 0;
  double d;
  int i;
  for (i = 7; i >= 0; i--) u = u << 8 | p[i];
  memcpy(&d, &u, sizeof d);
  return d;
}

/* The end of the value at `at` in p[0..n), or 0 when it does not fit.
** O(1): tables are skipped by their length. */
static size_t skip(const unsigned char *p, size_t n, size_t at) {
  uint64_t x;
  size_t i = at + 1;
  if (at >= n) return 0;
  switch (p[at]) {
    case VALUE_NIL: case VALUE_FALSE: case VALUE_TRUE: return i;
    case VALUE_INT: return get_varint(p, n, &i, &x) ? i : 0;
    case VALUE_FLOAT: return n - i >= 8 ? i + 8 : 0;
    case VALUE_STRING:
      if (!get_varint(p, n, &i, &x) || x >= n - i) return 0;
      return i + (size_t)x + 1;          /* the bytes and the NUL */
    case VALUE_TABLE:
      if (n - i < 4) return 0;
      x = get32(p + i);
      i += 4;
      return x <= n - i ? i + (size_t)x : 0;
    default: return p[at] >= VALUE_SMALLINT ? i : 0;
  }
}

/* Integer value of the number at `at` (exact floats included). */
static int get_integer(const unsigned char *p, size_t n, size_t at,
                       long long *out) {
  uint64_t u;
  size_t i = at + 1;
  double d;
  if (at >= n) return 0;
  if (p[at] >= VALUE_SMALLINT) { *out = p[at] & 0x7f; return 1; }
  if (p[at] == VALUE_INT && get_varint(p, n, &i, &u)) {
    *out = unzigzag(u);
    return 1;
  }
  if (p[at] == VALUE_FLOAT && n - i >= 8) {
    d = get_double(p + i);
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
        d == floor(d)) {
      *out = (long long)d;
      return 1;
    }
  }
  return 0;
}

typedef struct table {
  size_t pos;             /* first entry */
  size_t end;             /* end of the table */
  uint64_t narr, nhash;
} table;

static int open_table(const lplug_value *v, size_t at, table *t) {
  if (v == NULL || at >= v->len || v->bytes[at] != VALUE_TABLE) return 0;
  t->end = skip(v->bytes, v->len, at);
  t->pos = at + 5;
  return t->end != 0 && get_varint(v->bytes, t->end, &t->pos, &t->narr) &&
         get_varint(v->bytes, t->end, &t->pos, &t->nhash);
}

int lplug_value_type(const lplug_value *v, size_t at) {
  if (v == NULL) return LPLUG_TNONE;
  if (at & VKEY) {
    size_t i = at & ~VKEY;
    return i >= 1 && i <= v->len ? LPLUG_TINTEGER : LPLUG_TNONE;
  }
  if (at >= v->len) return LPLUG_TNONE;
  switch (v->bytes[at]) {
    case VALUE_NIL: return LPLUG_TNIL;
    case VALUE_FALSE: case VALUE_TRUE: return LPLUG_TBOOLEAN;
    case VALUE_INT: return LPLUG_TINTEGER;
    case VALUE_FLOAT: return LPLUG_TFLOAT;
    case VALUE_STRING: return LPLUG_TSTRING;
    case VALUE_TABLE: return LPLUG_TTABLE;
    default: return v->bytes[at] >= VALUE_SMALLINT ? LPLUG_TINTEGER
                                                   : LPLUG_TNONE;
  }
}

int lplug_value_boolean(const lplug_value *v, size_t at) {
  return v != NULL && at < v->len && v->bytes[at] == VALUE_TRUE;
}

long long lplug_value_integer(const lplug_value *v, size_t at, int *ok) {
  long long x = 0;
  int good;
  if (v != NULL && (at & VKEY)) {
    good = lplug_value_type(v, at) == LPLUG_TINTEGER;
    x = good ? (long long)(at & ~VKEY) : 0;
  } else {
    good = v != NULL && get_integer(v->bytes, v->len, at, &x);
  }
  if (ok) *ok = good;
  return good ? x : 0;
}

double lplug_value_float(const lplug_value *v, size_t at, int *ok) {
  long long x;
  int good = 0;
  double d = 0;
  if (v != NULL && !(at & VKEY) && at < v->len &&
      v->bytes[at] == VALUE_FLOAT && v->len - at > 8) {
    d = get_double(v->bytes + at + 1);
    good = 1;
  } else if (lplug_value_type(v, at) == LPLUG_TINTEGER) {
    x = lplug_value_integer(v, at, &good);
    d = (double)x;
    /* exact only if converting back gives x (2^63 itself is out) */
    good = good && d < 9223372036854775808.0 && (long long)d == x;
  }
  if (ok) *ok = good;
  return good ? d : 0;
}

const char *lplug_value_string(const lplug_value *v, size_t at, size_t *len) {
  size_t end;
  uint64_t x;
  size_t i = at + 1;
  if (v == NULL || (at & VKEY) || at >= v->len ||
      v->bytes[at] != VALUE_STRING)
    return NULL;
  end = skip(v->bytes, v->len, at);
  /* Every string's bytes end in a NUL; an `at` inside another value's
  ** bytes can look like a string without one, and a host reading the
  ** result as a C string would run off the value. */
  if (end == 0 || v->bytes[end - 1] != '\0' ||
      !get_varint(v->bytes, end, &i, &x))
    return NULL;
  if (len) *len = (size_t)x;
  return (const char *)v->bytes + i;
}

/* Iterator state: entries done so far and the position of the next one,
** packed into one size_t.  Offsets from at + 5 fit in 32 bits (a table
** is at most 4 GB).  Where size_t has 32 bits only the count is kept and
** the position is found again by skipping: slower, still correct
** (-DVALUE_COUNT_ITER builds that variant for testing). */
#if SIZE_MAX > 0xffffffffu && !defined(VALUE_COUNT_ITER)
static size_t pack(uint64_t done, size_t off) {
  return (size_t)done << 32 | off;
}
static uint64_t unpack(size_t it, const unsigned char *p, const table *t,
                       size_t base, size_t *pos) {
  *pos = base + (it & 0xffffffffu);
  return it >> 32;
}
#else
static size_t pack(uint64_t done, size_t off) {
  (void)off;
  return (size_t)done;
}
static uint64_t unpack(size_t it, const unsigned char *p, const table *t,
                       size_t base, size_t *pos) {
  size_t k, at = t->pos;
  for (k = 0; k < it && at != 0; k++) {
    if (k >= t->narr) at = skip(p, t->end, at);     /* the key */
    if (at != 0) at = skip(p, t->end, at);
  }
  *pos = at != 0 ? at : t->end;
  return it;
}
#endif

int lplug_value_next(const lplug_value *v, size_t at, size_t *iter,
                     size_t *key, size_t *val) {
  table t;
  uint64_t done;
  size_t pos, kpos, base = at + 5;
  const unsigned char *p;
  if (iter == NULL || key == NULL || val == NULL || !open_table(v, at, &t))
    return 0;
  p = v->bytes;
  if (*iter == 0) {
    done = 0;
    pos = t.pos;
  } else {
    done = unpack(*iter, p, &t, base, &pos);
    if (pos < t.pos || pos > t.end) return 0;
  }
  for (; done < t.narr; done++) {
    size_t end = skip(p, t.end, pos);
    if (end == 0) return 0;
    if (p[pos] != VALUE_NIL) {
      *key = VKEY | (size_t)(done + 1);
      *val = pos;
      *iter = pack(done + 1, end - base);
      return 1;
    }
    pos = end;
  }
  for (; done - t.narr < t.nhash; done++) {
    kpos = pos;
    pos = skip(p, t.end, kpos);
    if (pos == 0 || pos >= t.end) return 0;
    if (p[pos] != VALUE_NIL) {
      size_t end = skip(p, t.end, pos);
      if (end == 0) return 0;
      *key = kpos;
      *val = pos;
      *iter = pack(done + 1, end - base);
      return 1;
    }
    pos++;
  }
  return 0;
}

size_t lplug_value_count(const lplug_value *v, size_t at) {
  size_t it = 0, k, x, n = 0;
  while (lplug_value_next(v, at, &it, &k, &x)) n++;
  return n;
}

/* Finds the value whose key matches: a string key (s, len) or, when s
** is NULL, the integer key i.  The last match wins, as in Lua where a
** later duplicate key overwrites an earlier one. */
static int find(const lplug_value *v, size_t at, const char *s, size_t len,
                long long i, size_t *out) {
  size_t it = 0, k, x, klen;
  int found = 0;
  long long ki;
  if (out == NULL) return 0;
  while (lplug_value_next(v, at, &it, &k, &x)) {
    if (s != NULL) {
      const char *ks = lplug_value_string(v, k, &klen);
      if (ks == NULL || klen != len || memcmp(ks, s, len) != 0) continue;
    } else {
      int ok;
      ki = lplug_value_integer(v, k, &ok);
      if (!ok || ki != i) continue;
    }
    *out = x;
    found = 1;
  }
  return found;
}

int lplug_value_field(const lplug_value *v, size_t at, const char *key,
                      size_t *out) {
  return key != NULL && find(v, at, key, strlen(key), 0, out);
}

int lplug_value_index(const lplug_value *v, size_t at, long long i,
                      size_t *out) {
  return find(v, at, NULL, 0, i, out);
}

/* }====================================================== */


/*
** {======================================================
** Validator
** =======================================================
*/

/* The end of the value at `at` in bytes already checked: skip without
** the bounds checks, which cost a third of finding a key twice. */
static size_t after(const unsigned char *p, size_t at) {
  size_t i = at + 1, len = 0;
  int shift = 0;
  switch (p[at]) {
    case VALUE_INT: while (p[i++] & 0x80) {} return i;
    case VALUE_FLOAT: return i + 8;
    case VALUE_STRING:
      do len |= (size_t)(p[i] & 0x7f) << shift, shift += 7;
      while (p[i++] & 0x80);
      return i + len + 1;
    case VALUE_TABLE: return i + 4 + get32(p + i);
    default: return i;
  }
}

/* One key as Lua sees it, for finding a key held twice: an integral
** float is the integer (1.0 is 1, -0.0 is 0; value_lua.c pushes floats
** with lua_pushnumber and lua_rawset turns them into integer keys), and
** an array index is the integer key it stands for. */
typedef struct keyview {
  int kind;                        /* KEY_BOOLEAN ... KEY_STRING */
  long long i;                     /* a boolean (0, 1) or an integer */
  double d;                        /* a float that is not an integer */
  const unsigned char *s;          /* a string's bytes */
  uint64_t len;
} keyview;

enum { KEY_BOOLEAN, KEY_INTEGER, KEY_FLOAT, KEY_STRING };

/* Reads the key at `at`, already checked: never nil, a table or NaN. */
static void read_key(const unsigned char *p, size_t end, size_t at,
                     keyview *k) {
  size_t i = at + 1;
  /* the common keys first, without calls: a short string, a small
  ** integer */
  if (p[at] == VALUE_STRING && p[i] < 0x80) {
    k->kind = KEY_STRING;
    k->len = p[i];
    k->s = p + i + 1;
  } else if (p[at] >= VALUE_SMALLINT) {
    k->kind = KEY_INTEGER;
    k->i = p[at] & 0x7f;
  } else if (get_integer(p, end, at, &k->i)) {
    k->kind = KEY_INTEGER;
  } else if (p[at] == VALUE_FLOAT) {
    k->kind = KEY_FLOAT;
    k->d = get_double(p + i);
  } else if (p[at] == VALUE_STRING) {
    k->kind = KEY_STRING;
    (void)get_varint(p, end, &i, &k->len);
    k->s = p + i;
  } else {
    k->kind = KEY_BOOLEAN;
    k->i = p[at] == VALUE_TRUE;
  }
}

/* A total order on keys: by kind, then by value (no NaN reaches here,
** and the zeros are integers). */
static int key_order(const keyview *a, const keyview *b) {
  int c;
  if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
  switch (a->kind) {
    case KEY_FLOAT: return a->d < b->d ? -1 : a->d > b->d;
    case KEY_STRING:
      c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
      if (c != 0) return c;
      return a->len < b->len ? -1 : a->len > b->len;
    default: return a->i < b->i ? -1 : a->i > b->i;
  }
}

/* Keys of one table by their offset from `base`: a table is at most
** 4 GB, so 4 bytes hold an offset and the sort needs half the bytes it
** reads at most. */
typedef struct keyset {
  const unsigned char *p;
  size_t end, base;
  uint32_t *o;
} keyset;

static int order_at(const keyset *ks, size_t a, size_t b) {
  keyview x, y;
  read_key(ks->p, ks->end, ks->base + ks->o[a], &x);
  read_key(ks->p, ks->end, ks->base + ks->o[b], &y);
  return key_order(&x, &y);
}

static void sift(keyset *ks, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    uint32_t t;
    if (child >= n) return;
    if (child + 1 < n && order_at(ks, child, child + 1) < 0) child++;
    if (order_at(ks, root, child) >= 0) return;
    t = ks->o[root];
    ks->o[root] = ks->o[child];
    ks->o[child] = t;
    root = child;
  }
}

/* Heapsort: O(n log n) whatever the bytes (they may be an attacker's),
** no recursion, no extra memory. */
static void sort_keys(keyset *ks, size_t n) {
  size_t i;
  uint32_t t;
  for (i = n / 2; i-- > 0; ) sift(ks, i, n);
  for (i = n; i-- > 1; ) {
    t = ks->o[0];
    ks->o[0] = ks->o[i];
    ks->o[i] = t;
    sift(ks, 0, i);
  }
}

/* Whether an integer key among the n sorted keys names an index of the
** array part at `arr` (narr values) that holds a value. */
static int hits_array(const keyset *ks, size_t n, size_t arr, uint64_t narr) {
  uint64_t index = 1;
  size_t i;
  keyview k;
  for (i = 0; i < n; i++) {
    read_key(ks->p, ks->end, ks->base + ks->o[i], &k);
    if (k.kind > KEY_INTEGER) break;        /* sorted: no integers left */
    if (k.kind < KEY_INTEGER || k.i < 1) continue;  /* k.i set only here */
    if ((uint64_t)k.i > narr) break;
    for (; index < (uint64_t)k.i; index++) arr = after(ks->p, arr);
    if (ks->p[arr] != VALUE_NIL) return 1;
  }
  return 0;
}

/* Whether index i (1..narr) of the array part at `arr` holds a value. */
static int array_holds(const unsigned char *p, size_t end, size_t arr,
                       long long i) {
  for (; i > 1; i--) arr = after(p, arr);
  return p[arr] != VALUE_NIL;
}

/* Up to this many keys are compared pair by pair (28 compares at most),
** each read once: sorting offsets reads every key again at each compare,
** and cost 1200 Ir more than this for a 3-field record. */
#define FEW_KEYS 8

static int few_keys_unique(const unsigned char *p, size_t end, size_t arr,
                           uint64_t narr, size_t hash, uint64_t nhash) {
  keyview kv[FEW_KEYS];
  size_t n = 0, j, val;
  uint64_t k;
  for (k = 0; k < nhash; k++, hash = after(p, val)) {
    val = after(p, hash);
    if (p[val] == VALUE_NIL) continue;           /* absent */
    read_key(p, end, hash, &kv[n]);
    for (j = 0; j < n; j++)
      if (key_order(&kv[j], &kv[n]) == 0) return LPLUG_EPARSE;
    if (kv[n].kind == KEY_INTEGER && kv[n].i >= 1 &&
        (uint64_t)kv[n].i <= narr && array_holds(p, end, arr, kv[n].i))
      return LPLUG_EPARSE;
    n++;
  }
  return LPLUG_OK;
}

/* Checks that the table whose array part (narr values) starts at `arr`
** and hash part (nhash pairs) at `hash`, ending at `end`, holds no key
** twice, as Lua would merge it: two equal hash keys, or a hash key that
** repeats an index of the array part.  Pairs and array entries whose
** value is nil are absent (every reader skips them), so they clash with
** nothing.  The bytes were checked.  LPLUG_OK, LPLUG_EPARSE or
** LPLUG_ENOMEM. */
static int keys_unique(const unsigned char *p, size_t end, size_t arr,
                       uint64_t narr, size_t hash, uint64_t nhash) {
  keyset ks;
  size_t n = 0, i, val;
  uint64_t k;
  int rc = LPLUG_OK;
  if (nhash <= FEW_KEYS)
    return few_keys_unique(p, end, arr, narr, hash, nhash);
  ks.p = p;
  ks.end = end;
  ks.base = arr;
  if (nhash > SIZE_MAX / sizeof *ks.o ||
      (ks.o = malloc((size_t)nhash * sizeof *ks.o)) == NULL)
    return LPLUG_ENOMEM;
  for (k = 0; k < nhash; k++, hash = after(p, val)) {
    val = after(p, hash);
    if (p[val] != VALUE_NIL) ks.o[n++] = (uint32_t)(hash - arr);
  }
  sort_keys(&ks, n);
  for (i = 1; i < n && rc == LPLUG_OK; i++)
    if (order_at(&ks, i - 1, i) == 0) rc = LPLUG_EPARSE;
  if (rc == LPLUG_OK && narr > 0 && hits_array(&ks, n, arr, narr))
    rc = LPLUG_EPARSE;
  free(ks.o);
  return rc;
}

/* Checks one value at *pos of p[0..n); `depth` tables enclose it.
** LPLUG_OK, LPLUG_EPARSE or LPLUG_ENOMEM. */
static int check(const unsigned char *p, size_t n, size_t *pos, int depth) {
  size_t at = *pos, i, arr, hash, end = skip(p, n, at);
  uint64_t narr, nhash, k;
  int rc;
  if (end == 0) return LPLUG_EPARSE;
  if (p[at] == VALUE_STRING && p[end - 1] != 0) return LPLUG_EPARSE;
  if (p[at] == VALUE_TABLE) {
    if (depth >= LPLUG_MAX_DEPTH) return LPLUG_EPARSE;
    i = at + 5;
    if (!get_varint(p, end, &i, &narr) || !get_varint(p, end, &i, &nhash))
      return LPLUG_EPARSE;
    /* every value takes a byte, every pair two: no long loops on lies */
    if (narr > end - i || nhash > (end - i - narr) / 2) return LPLUG_EPARSE;
    arr = i;
    for (k = 0; k < narr; k++)
      if ((rc = check(p, end, &i, depth + 1)) != LPLUG_OK) return rc;
    hash = i;
    for (k = 0; k < nhash; k++) {
      unsigned char tag;
      if (i >= end) return LPLUG_EPARSE;
      tag = p[i];
      if (tag == VALUE_NIL || tag == VALUE_TABLE) return LPLUG_EPARSE;
      if (tag == VALUE_FLOAT && end - i > 8 && isnan(get_double(p + i + 1)))
        return LPLUG_EPARSE;
      if ((rc = check(p, end, &i, depth + 1)) != LPLUG_OK ||
          (rc = check(p, end, &i, depth + 1)) != LPLUG_OK)
        return rc;
    }
    if (i != end) return LPLUG_EPARSE;
    if ((rc = keys_unique(p, end, arr, narr, hash, nhash)) != LPLUG_OK)
      return rc;
  }
  *pos = end;
  return LPLUG_OK;
}

int value_check(const unsigned char *p, size_t n) {
  size_t pos = 0;
  int rc;
  if (p == NULL || n == 0) return LPLUG_EPARSE;
  rc = check(p, n, &pos, 0);
  return rc != LPLUG_OK || pos == n ? rc : LPLUG_EPARSE;
}

/* }====================================================== */


/*
** {======================================================
** Values
** =======================================================
*/

lplug_value *lplug_value_new(void) {
  lplug_value *v = calloc(1, sizeof *v);
  if (v == NULL) return NULL;
  value_set_nil(v);
  if (v->len == 0) {
    free(v);
    return NULL;
  }
  return v;
}

void lplug_value_free(lplug_value *v) {
  if (v == NULL) return;
  free(v->bytes);
  free(v);
}

static lplug_value *from_copy(const void *bytes, size_t len) {
  lplug_value *v = calloc(1, sizeof *v);
  if (v == NULL) return NULL;
  if (value_reserve(v, len) != LPLUG_OK) {
    free(v);
    return NULL;
  }
  memcpy(v->bytes, bytes, len);
  v->len = len;
  return v;
}

lplug_value *lplug_value_copy(const lplug_value *v) {
  return v == NULL ? NULL : from_copy(v->bytes, v->len);
}

const void *lplug_value_bytes(const lplug_value *v, size_t *len) {
  if (len) *len = v ? v->len : 0;
  return v ? v->bytes : NULL;
}

int lplug_value_from_bytes(const void *bytes, size_t len, lplug_value **out) {
  int rc;
  if (out == NULL) return LPLUG_EINVAL;
  *out = NULL;
  if (bytes == NULL) return LPLUG_EINVAL;
  if ((rc = value_check(bytes, len)) != LPLUG_OK) return rc;
  *out = from_copy(bytes, len);
  return *out ? LPLUG_OK : LPLUG_ENOMEM;
}

char *lplug_value_to_json(const lplug_value *v, size_t *len) {
  return v == NULL ? NULL : json_encode(v, 0, (size_t)-1, len);
}

void lplug_free(void *p) { free(p); }

/* }====================================================== */


/*
** {======================================================
** Builder
**
** Writes straight into its own buffer.  A table is written as its tag,
** the 4-byte length and one byte for each count; when it closes, counts
** past 127 make room for their longer varints (one memmove, only for big
** tables).  Integer keys 1, 2, 3, ... arriving first go to the array
** part without key bytes; a nil value drops its key (hash) or leaves a
** hole (array; holes at the end are trimmed).
**
** A key given twice is misuse, found when its table closes by the sort
** lplug_value_from_bytes uses (keys_unique), but only in tables that may
** hold one: each hash key sets one bit of a 64-bit filter (a few bits of
** the key), and only a table where two keys met on one bit, or with a
** hash part beside an array part (an integer key may repeat an index),
** calls for the sort.  A 3-field record pays a shift, a test and an OR
** per key and one test at its end (counting the bits set at the end
** instead cost 20 Ir more).  Comparing its keys pair by pair at the end cost 134 Ir more per
** record (bench hook_record3): walking to each key and telling keys
** apart byte by byte costs more than the filter ever does.
** =======================================================
*/

typedef struct frame {
  size_t start;           /* position of the table's tag */
  size_t keypos;          /* where the pending hash key starts */
  uint64_t narr, nhash;
  uint64_t trailing;      /* nil holes at the end of the array part */
  uint64_t seen;          /* one bit per hash key: see above */
  int clash;              /* two hash keys set the same bit */
  int want;               /* KEY or a kind of VALUE */
} frame;

enum { KEY, HASHVAL, ARRVAL };

/* Frames kept in the builder itself; deeper values get all
** LPLUG_MAX_DEPTH frames in an allocation of their own.  A builder with
** all of them inline was 5 KB: a malloc that size sorts glibc's free
** lists and consolidates its fast bins, a tenth of the time of loading
** many small plugins (three builders each: manifest, configuration, the
** lifecycle event).  With a few it is a small allocation. */
#define INLINE_FRAMES 8

struct lplug_builder {
  lplug_value buf;
  int err;                /* first misuse, or LPLUG_OK */
  int depth;              /* open tables */
  int done;               /* a whole top-level value was written */
  frame *f;               /* inline, or LPLUG_MAX_DEPTH allocated */
  frame inline_f[INLINE_FRAMES];
};

static void reset(lplug_builder *b) {
  b->buf.len = 0;
  b->err = LPLUG_OK;
  b->depth = 0;
  b->done = 0;
}

/* Not calloc: a frame is written when its table opens. */
lplug_builder *lplug_builder_new(void) {
  lplug_builder *b = malloc(sizeof *b);
  if (b == NULL) return NULL;
  memset(&b->buf, 0, sizeof b->buf);
  b->f = b->inline_f;
  reset(b);
  return b;
}

void lplug_builder_free(lplug_builder *b) {
  if (b == NULL) return;
  value_release(&b->buf);
  if (b->f != b->inline_f) free(b->f);
  free(b);
}

/* Reserves n bytes at the end of the buffer; NULL after any error.  The
** room there is checked before calling value_reserve, which would check
** it again: that call on every item made a 3-field record take 902 Ir to
** build instead of 793 (bench hook_record3, callgrind), and
** lplug_build_string 125 instead of 110. */
static unsigned char *room(lplug_builder *b, size_t n) {
  unsigned char *p;
  if (b->err != LPLUG_OK) return NULL;
  if (b->buf.cap - b->buf.len < n && value_reserve(&b->buf, n) != LPLUG_OK) {
    b->err = LPLUG_ENOMEM;
    return NULL;
  }
  p = b->buf.bytes + b->buf.len;
  b->buf.len += n;
  return p;
}

/* Called before every value.  Decides whether it is a key (kind: a tag,
** or -1 for a table) and updates the counts; returns 0 to skip writing
** it.  `ival` is the integer of an integer key, the length of a string
** `s` (NULL for the other kinds) or, for the others, what sets a bit in
** the key filter (a boolean; 0 for a float).  Inline (GCC left it a
** call from the seven builders): a 3-field record's eight builder calls
** went from 793 to 643 Ir, lplug_build_string from 110 to 84. */
static inline int before(lplug_builder *b, int tag, long long ival,
                         const char *s) {
  frame *f;
  uint64_t h, bit;
  if (b == NULL || b->err != LPLUG_OK) return 0;
  if (b->depth == 0) {
    if (b->done) b->err = LPLUG_EINVAL;   /* a second top-level value */
    b->done = 1;
    return b->err == LPLUG_OK;
  }
  f = &b->f[b->depth - 1];
  switch (f->want) {
    case KEY:
      if (tag == VALUE_NIL || tag == VALUE_TABLE) {
        b->err = LPLUG_EINVAL;             /* nil or table as a key */
        return 0;
      }
      if (tag == VALUE_INT && f->nhash == 0 && f->narr < (uint64_t)LLONG_MAX
          && ival == (long long)f->narr + 1) {
        f->want = ARRVAL;                   /* implicit key: not written */
        return 0;
      }
      f->keypos = b->buf.len;
      /* a string's length and first byte tell most field names apart:
      ** "line", "n", "ok" set bits 8, 53 and 61 */
      h = (uint64_t)ival;
      if (tag == VALUE_STRING) h = h * 7 + (ival > 0 ? (unsigned char)*s : 0);
      bit = (uint64_t)1 << (h & 63);
      if (f->seen & bit) f->clash = 1;     /* maybe the same key */
      f->seen |= bit;
      f->want = HASHVAL;
      return 1;
    case ARRVAL:
      f->narr++;
      f->trailing = tag == VALUE_NIL ? f->trailing + 1 : 0;
      f->want = KEY;
      return 1;
    default:                               /* HASHVAL */
      f->want = KEY;
      if (tag == VALUE_NIL) {              /* key = nil: no entry */
        b->buf.len = f->keypos;
        return 0;
      }
      f->nhash++;
      return 1;
  }
}

void lplug_build_nil(lplug_builder *b) {
  unsigned char *p;
  if (before(b, VALUE_NIL, 0, NULL) && (p = room(b, 1)) != NULL) *p = VALUE_NIL;
}

void lplug_build_boolean(lplug_builder *b, int x) {
  unsigned char *p;
  if (before(b, VALUE_TRUE, x != 0, NULL) && (p = room(b, 1)) != NULL)
    *p = x ? VALUE_TRUE : VALUE_FALSE;
}

void lplug_build_integer(lplug_builder *b, long long x) {
  unsigned char *p;
  uint64_t u;
  if (!before(b, VALUE_INT, x, NULL)) return;
  if (x >= 0 && x < 128) {
    if ((p = room(b, 1)) != NULL) *p = (unsigned char)(VALUE_SMALLINT | x);
    return;
  }
  u = zigzag(x);
  if ((p = room(b, 1 + varint_size(u))) != NULL) {
    *p = VALUE_INT;
    put_varint(p + 1, u);
  }
}

void lplug_build_float(lplug_builder *b, double x) {
  unsigned char *p;
  uint64_t u;
  int i;
  if (b && !b->err && b->depth > 0 && b->f[b->depth - 1].want == KEY) {
    if (isnan(x)) {
      b->err = LPLUG_EINVAL;              /* NaN cannot be a key */
      return;
    }
    if (x >= -9223372036854775808.0 && x < 9223372036854775808.0 &&
        x == floor(x)) {                   /* Lua's key normalization */
      lplug_build_integer(b, (long long)x);
      return;
    }
  }
  if (!before(b, VALUE_FLOAT, 0, NULL) || (p = room(b, 9)) == NULL) return;
  memcpy(&u, &x, sizeof u);
  *p++ = VALUE_FLOAT;
  for (i = 0; i < 8; i++, u >>= 8) p[i] = (unsigned char)u;
}

void lplug_build_string(lplug_builder *b, const char *s, size_t len) {
  unsigned char *p;
  if (s == NULL && len > 0 && b && b->err == LPLUG_OK) b->err = LPLUG_EINVAL;
  if (!before(b, VALUE_STRING, (long long)len, s)) return;
  if (len > (size_t)-1 - 12) {
    b->err = LPLUG_ENOMEM;
    return;
  }
  if ((p = room(b, 1 + varint_size(len) + len + 1)) == NULL) return;
  *p = VALUE_STRING;
  p = put_varint(p + 1, len);
  if (len) memcpy(p, s, len);
  p[len] = 0;
}

void lplug_build_table(lplug_builder *b) {
  frame *f;
  unsigned char *p;
  if (!before(b, VALUE_TABLE, 0, NULL)) return;
  if (b->depth == LPLUG_MAX_DEPTH) {
    b->err = LPLUG_EINVAL;                 /* nesting past the limit */
    return;
  }
  if (b->depth == INLINE_FRAMES && b->f == b->inline_f) {
    frame *all = malloc(LPLUG_MAX_DEPTH * sizeof *all);
    if (all == NULL) {
      b->err = LPLUG_ENOMEM;
      return;
    }
    memcpy(all, b->inline_f, sizeof b->inline_f);
    b->f = all;
  }
  f = &b->f[b->depth];
  f->start = b->buf.len;
  if ((p = room(b, 7)) == NULL) return;
  p[0] = VALUE_TABLE;                      /* length, counts patched later */
  f->narr = f->nhash = f->trailing = 0;
  f->seen = 0;
  f->clash = 0;
  f->want = KEY;
  b->depth++;
}

/* Checks that the table f, just closed and patched, holds no key twice:
** LPLUG_OK, LPLUG_EINVAL or LPLUG_ENOMEM.  Out of line: inlined, it made
** lplug_build_end save more registers on every call (2 Ir more). */
static NOINLINE int builder_keys_unique(const lplug_builder *b, const frame *f) {
  const unsigned char *p = b->buf.bytes;
  size_t arr, hash, end = b->buf.len;
  uint64_t n;
  int rc;
  hash = arr = f->start + 5 + varint_size(f->narr) + varint_size(f->nhash);
  for (n = 0; n < f->narr; n++) hash = after(p, hash);
  rc = keys_unique(p, end, arr, f->narr, hash, f->nhash);
  return rc == LPLUG_EPARSE ? LPLUG_EINVAL : rc;
}

void lplug_build_end(lplug_builder *b) {
  frame *f;
  size_t body, start, extra;
  unsigned char *p;
  if (b == NULL || b->err != LPLUG_OK) return;
  if (b->depth == 0 || b->f[b->depth - 1].want != KEY) {
    b->err = LPLUG_EINVAL;                 /* no table, or a key alone */
    return;
  }
  f = &b->f[--b->depth];
  if (f->nhash == 0) {                     /* trim holes at the end */
    f->narr -= f->trailing;
    b->buf.len -= f->trailing;
  }
  start = f->start;
  extra = varint_size(f->narr) + varint_size(f->nhash) - 2;
  body = b->buf.len - (start + 7);
  if (body + extra + 2 > MAX_TABLE) {
    b->err = LPLUG_ENOMEM;                 /* beyond the 4-byte length */
    return;
  }
  if (extra > 0) {
    if (room(b, extra) == NULL) return;
    memmove(b->buf.bytes + start + 7 + extra, b->buf.bytes + start + 7, body);
  }
  p = b->buf.bytes + start;
  put32(p + 1, (uint32_t)(body + extra + 2));
  p = put_varint(p + 5, f->narr);
  put_varint(p, f->nhash);
  if (f->clash || (f->narr > 0 && f->nhash > 0))
    b->err = builder_keys_unique(b, f);    /* a key twice is misuse */
}

/* A NULL builder (lplug_builder_new ran out of memory) accepts every
** call and finishes with LPLUG_ENOMEM, so callers check once. */
int lplug_builder_finish(lplug_builder *b, lplug_value *v) {
  int rc;
  if (b == NULL) return LPLUG_ENOMEM;
  rc = v == NULL ? LPLUG_EINVAL : b->err;
  if (rc == LPLUG_OK && (b->depth > 0 || !b->done)) rc = LPLUG_EINVAL;
  if (rc == LPLUG_OK) value_swap(&b->buf, v);   /* b keeps v's old buffer */
  reset(b);
  return rc;
}

/* }====================================================== */
