/*
** value_lua.c -- copying values between the encoding (value.h) and a Lua
** stack.  Uses only the official Lua API (lua.h, and lauxlib.h for
** luaL_checkstack when pushing) and value.c's buffer.
**
** Reading runs on plugin states that may sit at their memory limit,
** outside any protected call, on values a hostile plugin built.  So it
** never runs plugin code (raw access only: lua_rawlen, lua_rawgeti,
** lua_next; metatables are not looked at), never allocates in the state
** (no number is turned into a string; lua_checkstack, which fails
** instead of raising, is the only thing that may grow the stack) and
** bounds what it does: depth, cycles (tables on the current path compared
** by lua_topointer) and output bytes.  A table met twice off the path is
** written twice; max_bytes bounds that blow-up too.  The second time its
** bytes are copied from the first, not walked again: walking a table
** costs its size, which is not what it writes (a table of 8192 slots
** emptied writes 6 bytes, and 150,000 references to it in a 256 KB state
** took the host 360 ms, seconds under a 4 MB limit), whereas a copy
** costs what it writes.
*/
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include "engine/value_lua.h"

#define MAX_TABLE 0xffffffffu      /* what a 4-byte table length holds */

/* Small codec helpers (value.c has bounds-checked twins for untrusted
** bytes; these serve the two hot paths and trust their input). */
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

static const unsigned char *get_varint(const unsigned char *p, uint64_t *x) {
  uint64_t r = 0;
  int shift = 0;
  while ((*p & 0x80) && shift < 63) {
    r |= (uint64_t)(*p++ & 0x7f) << shift;
    shift += 7;
  }
  *x = r | (uint64_t)(*p++ & 0x7f) << shift;
  return p;
}

static double get_double(const unsigned char *p) {
  uint64_t u = 0;
  double d;
  int i;
  for (i = 7; i >= 0; i--) u = u << 8 | p[i];
  memcpy(&d, &u, sizeof d);
  return d;
}


/*
** {======================================================
** Lua -> encoding
** =======================================================
*/

/* How a value was reached from its table: by array index or by a key
** sitting on the Lua stack (lua_next keeps it there). */
typedef struct step {
  int key;               /* stack index of the key, 0 for an array index */
  lua_Integer i;
} step;

/* A table whose encoding is complete, to copy when it is met again. */
typedef struct done {
  const void *table;
  size_t at, len;        /* its bytes in the output */
  int height;            /* levels of tables in it, itself included */
} done;

#define DONE_INLINE 16   /* done tables kept without allocating, and
                            found by a scan; more get an index */

typedef struct enc {
  lua_State *L;
  lplug_value *out;
  size_t limit;          /* out->len may not pass it */
  size_t max;            /* max_bytes, for the message */
  const char *root;
  char *err;
  size_t errsize, errlen;
  int rc;                /* LPLUG_EVALUE or LPLUG_ENOMEM once refused */
  int depth;             /* tables enclosing the value being written */
  size_t work;           /* bytes written, rewrites included, and
                            VALUE_ITEM_WORK for each value walked */
  const void *tables[LPLUG_MAX_DEPTH];   /* those tables, outermost first */
  step path[LPLUG_MAX_DEPTH];           /* how each level was entered */
  int deepest;           /* the deepest level of a table written so far,
                            since the innermost table being written began */
  done *done;            /* the tables written, in the order they ended */
  size_t ndone, capdone;
  size_t *index;         /* open addressing over done: entry + 1, 0 free;
                            NULL while ndone <= DONE_INLINE */
  size_t nindex, usedindex;
  done inline_done[DONE_INLINE];
} enc;

/* Appends to the message, truncating at errsize. */
static void add(enc *e, const char *fmt, ...) {
  va_list ap;
  int n;
  if (e->errlen + 1 >= e->errsize) return;
  va_start(ap, fmt);
  n = vsnprintf(e->err + e->errlen, e->errsize - e->errlen, fmt, ap);
  va_end(ap);
  if (n > 0) e->errlen += (size_t)n;
  if (e->errlen >= e->errsize) e->errlen = e->errsize - 1;
}

static int is_name(const char *s, size_t len) {
  size_t i;
  if (len == 0 || len > 40 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* Writes the path of the first `n` steps: value.a[3]["b c"] */
static void add_path(enc *e, int n) {
  lua_State *L = e->L;
  int d;
  add(e, "%s", e->root);
  for (d = 0; d < n; d++) {
    int k = e->path[d].key;
    if (k == 0) {
      add(e, "[%lld]", (long long)e->path[d].i);
    } else if (lua_type(L, k) == LUA_TSTRING) {   /* no conversion */
      size_t len, i;
      const char *s = lua_tolstring(L, k, &len);
      if (is_name(s, len)) {
        add(e, ".%s", s);
        continue;
      }
      add(e, "[\"");
      for (i = 0; i < len && i < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') add(e, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) add(e, "\\%d", c);
        else add(e, "%c", c);
      }
      add(e, i < len ? "...\"]" : "\"]");
    } else if (lua_isinteger(L, k)) {
      add(e, "[%lld]", (long long)lua_tointeger(L, k));
    } else if (lua_type(L, k) == LUA_TNUMBER) {
      add(e, "[%.14g]", (double)lua_tonumber(L, k));
    } else {
      add(e, lua_toboolean(L, k) ? "[true]" : "[false]");
    }
  }
}

/* Sets the message: the path of `n` steps, then the rest. */
static int fail(enc *e, int rc, int n, const char *what, const char *arg) {
  e->rc = rc;
  e->errlen = 0;
  if (e->errsize == 0) return 0;
  e->err[0] = 0;
  if (rc == LPLUG_ENOMEM) add(e, "out of memory while copying ");
  add_path(e, n);
  add(e, what, arg);
  return 0;
}

/* n more bytes at the end of the output; NULL (message set) if they
** would pass max_bytes or memory runs out. */
static unsigned char *room(enc *e, size_t n) {
  lplug_value *v = e->out;
  unsigned char *p;
  if (n > e->limit - v->len) {
    char limit[32];
    snprintf(limit, sizeof limit, "%zu", e->max);
    fail(e, LPLUG_EVALUE, e->depth, " makes the value larger than %s bytes",
         limit);
    return NULL;
  }
  if (value_reserve(v, n) != LPLUG_OK) {
    fail(e, LPLUG_ENOMEM, e->depth, "", NULL);
    return NULL;
  }
  p = v->bytes + v->len;
  v->len += n;
  e->work += n;
  return p;
}

static int put_integer(enc *e, lua_Integer x) {
  uint64_t u;
  unsigned char *p;
  if (x >= 0 && x < 128) {
    if ((p = room(e, 1)) == NULL) return 0;
    *p = (unsigned char)(VALUE_SMALLINT | x);
    return 1;
  }
  u = x < 0 ? ~((uint64_t)x << 1) : (uint64_t)x << 1;     /* zigzag */
  if ((p = room(e, 1 + varint_size(u))) == NULL) return 0;
  *p = VALUE_INT;
  put_varint(p + 1, u);
  return 1;
}

static int put_float(enc *e, double d) {
  unsigned char *p = room(e, 9);
  uint64_t u;
  int i;
  if (p == NULL) return 0;
  memcpy(&u, &d, sizeof u);
  *p++ = VALUE_FLOAT;
  for (i = 0; i < 8; i++, u >>= 8) p[i] = (unsigned char)u;
  return 1;
}

static int put_string(enc *e, const char *s, size_t len) {
  unsigned char *p;
  if ((p = room(e, 1 + varint_size(len) + len + 1)) == NULL) return 0;
  *p = VALUE_STRING;
  p = put_varint(p + 1, len);
  memcpy(p, s, len);
  p[len] = 0;
  return 1;
}

static int encode(enc *e, int idx);

/* Tables are blocks of at least 16 bytes: the low bits say nothing. */
static size_t slot_of(const void *table, size_t nindex) {
  uint64_t h = (uint64_t)(uintptr_t)table * 0x9E3779B97F4A7C15u;
  return (size_t)(h >> 32) & (nindex - 1);
}

/* Indexes done[0..ndone) afresh in nindex slots (a power of two); 0 when
** out of memory.  Slots of entries dropped (see encode_table's restart)
** go with the old index. */
static int reindex(enc *e, size_t nindex) {
  size_t *index = calloc(nindex, sizeof *index), i;
  if (index == NULL) return 0;
  for (i = 0; i < e->ndone; i++) {
    size_t k = slot_of(e->done[i].table, nindex);
    while (index[k] != 0) k = (k + 1) & (nindex - 1);
    index[k] = i + 1;
  }
  free(e->index);
  e->index = index;
  e->nindex = nindex;
  e->usedindex = e->ndone;
  return 1;
}

/* The finished encoding of `table`, or NULL.  An index slot counts only
** while its entry is in use and holds that table: entries dropped by a
** restart leave slots that no longer match. */
static const done *find_done(const enc *e, const void *table) {
  size_t i, k;
  if (e->index == NULL) {
    for (i = 0; i < e->ndone; i++)
      if (e->done[i].table == table) return &e->done[i];
    return NULL;
  }
  for (k = slot_of(table, e->nindex); e->index[k] != 0;
       k = (k + 1) & (e->nindex - 1)) {
    i = e->index[k] - 1;
    if (i < e->ndone && e->done[i].table == table) return &e->done[i];
  }
  return NULL;
}

/* Records that `table` was written in len bytes at `at`; 0 (message set)
** when out of memory. */
static int add_done(enc *e, const void *table, size_t at, size_t len,
                    int height) {
  done *d;
  if (e->ndone == e->capdone) {
    size_t cap = e->capdone * 2;
    done *grown = e->done == e->inline_done ? malloc(cap * sizeof *grown)
                                            : realloc(e->done, cap *
                                                      sizeof *grown);
    if (grown == NULL) return fail(e, LPLUG_ENOMEM, e->depth, "", NULL);
    if (e->done == e->inline_done)
      memcpy(grown, e->inline_done, sizeof e->inline_done);
    e->done = grown;
    e->capdone = cap;
  }
  d = &e->done[e->ndone++];
  d->table = table;
  d->at = at;
  d->len = len;
  d->height = height;
  if (e->ndone <= DONE_INLINE) return 1;
  if (e->index == NULL || 2 * (e->usedindex + 1) > e->nindex) {
    if (!reindex(e, e->nindex ? 2 * e->nindex : 4 * DONE_INLINE))
      return fail(e, LPLUG_ENOMEM, e->depth, "", NULL);
  } else {
    size_t k = slot_of(table, e->nindex);
    while (e->index[k] != 0) k = (k + 1) & (e->nindex - 1);
    e->index[k] = e->ndone;
    e->usedindex++;
  }
  return 1;
}

/* Writes a copy of table d's bytes, which depth d lets fit; 0 (message
** set) past max_bytes or out of memory. */
static int copy_done(enc *e, const done *d) {
  size_t at = d->at, len = d->len;
  unsigned char *p = room(e, len);
  if (p == NULL) return 0;
  memcpy(p, e->out->bytes + at, len);
  if (e->depth + d->height > e->deepest) e->deepest = e->depth + d->height;
  return 1;
}

/* Writes the table at stack index t.  Array part: 1..lua_rawlen (holes
** become nil); hash part: every other key lua_next gives.  The nhash
** varint gets one byte up front and is widened (one memmove) when the
** hash part has more than 127 entries.
** A border can be huge with few entries ({1, 2, 3, 4, [5] = 5, [8] = 8,
** [9] = 9, [16] = 16, [17] = 17, ...} has #t = 2^26 + 1 with 53 keys):
** once holes outnumber entries (past a slack of 64) the table is written
** again with every key in the hash part, so the work stays proportional
** to the entries the plugin paid memory for. */
static int encode_table(enc *e, int t) {
  lua_State *L = e->L;
  const void *self = lua_topointer(L, t);
  int d = e->depth, j, outer_deepest = e->deepest;
  lua_Unsigned n, i, holes;
  uint64_t nhash = 0;
  size_t start = e->out->len, hpos, body, mark = e->ndone, m;
  unsigned char *p;
  const done *before;
  if (d == LPLUG_MAX_DEPTH)
    return fail(e, LPLUG_EVALUE, d, " is nested more than %s tables deep",
                "100");
  /* Written already (so not on the path: no cycle), and deep enough to
  ** copy here (else walked, to say where it is too deep). */
  if ((before = find_done(e, self)) != NULL &&
      d + before->height <= LPLUG_MAX_DEPTH)
    return copy_done(e, before);
  for (j = 0; j < d; j++) {
    if (e->tables[j] == self) {
      fail(e, LPLUG_EVALUE, d, " is a cycle back to ", NULL);
      add_path(e, j);
      return 0;
    }
  }
  if (!lua_checkstack(L, 3)) return fail(e, LPLUG_ENOMEM, d, " (Lua stack)",
                                         NULL);
  n = lua_rawlen(L, t);
again:
  if ((p = room(e, 5 + varint_size(n) + 1)) == NULL) return 0;
  p[0] = VALUE_TABLE;
  hpos = (size_t)(put_varint(p + 5, n) - e->out->bytes);
  e->tables[d] = self;
  e->depth = d + 1;
  e->deepest = d + 1;
  for (i = 1, holes = 0; i <= n; i++) {
    e->path[d].key = 0;
    e->path[d].i = (lua_Integer)i;
    if (lua_rawgeti(L, t, (lua_Integer)i) == LUA_TNIL &&
        ++holes > 64 + i / 2) {                  /* sparse: start again */
      lua_pop(L, 1);
      e->out->len = start;
      e->depth = d;
      e->ndone = mark;            /* their bytes are gone */
      n = 0;
      goto again;
    }
    if (!encode(e, lua_gettop(L))) return 0;
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, t)) {                         /* key, value */
    int top = lua_gettop(L), kt = lua_type(L, -2);
    if (kt == LUA_TNUMBER && lua_isinteger(L, -2)) {
      lua_Integer k = lua_tointeger(L, -2);
      if (k >= 1 && (lua_Unsigned)k <= n) {        /* written above */
        lua_pop(L, 1);
        continue;
      }
    }
    if (kt != LUA_TBOOLEAN && kt != LUA_TNUMBER && kt != LUA_TSTRING)
      return fail(e, LPLUG_EVALUE, d, " has a %s as a key (only booleans, "
                  "numbers and strings can be keys)", lua_typename(L, kt));
    e->path[d].key = top - 1;
    if (!encode(e, top - 1) || !encode(e, top)) return 0;
    lua_pop(L, 1);                                 /* keep the key */
    nhash++;
  }
  e->depth = d;
  if (nhash >= 0x80) {                             /* widen the count */
    size_t extra = (size_t)varint_size(nhash) - 1, tail;
    tail = e->out->len - (hpos + 1);
    if (room(e, extra) == NULL) return 0;
    memmove(e->out->bytes + hpos + 1 + extra, e->out->bytes + hpos + 1, tail);
    for (m = mark; m < e->ndone; m++) e->done[m].at += extra;
  }
  put_varint(e->out->bytes + hpos, nhash);
  body = e->out->len - (start + 5);
  if (body > MAX_TABLE)
    return fail(e, LPLUG_EVALUE, d, " is a table larger than %s", "4 GB");
  p = e->out->bytes + start + 1;
  p[0] = (unsigned char)body;         p[1] = (unsigned char)(body >> 8);
  p[2] = (unsigned char)(body >> 16); p[3] = (unsigned char)(body >> 24);
  if (!add_done(e, self, start, e->out->len - start, e->deepest - d))
    return 0;
  if (outer_deepest > e->deepest) e->deepest = outer_deepest;
  return 1;
}

/* Writes the value at stack index idx; 0 (e->rc and message set) on
** refusal. */
static int encode(enc *e, int idx) {
  lua_State *L = e->L;
  unsigned char *p;
  size_t len;
  const char *s;
  e->work += VALUE_ITEM_WORK;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TBOOLEAN:
      if ((p = room(e, 1)) == NULL) return 0;
      *p = lua_isnil(L, idx) ? VALUE_NIL
         : lua_toboolean(L, idx) ? VALUE_TRUE : VALUE_FALSE;
      return 1;
    case LUA_TNUMBER:
      return lua_isinteger(L, idx) ? put_integer(e, lua_tointeger(L, idx))
                                   : put_float(e, lua_tonumber(L, idx));
    case LUA_TSTRING:
      s = lua_tolstring(L, idx, &len);           /* a string: no copy */
      return put_string(e, s, len);
    case LUA_TTABLE:
      return encode_table(e, idx);
    default:
      return fail(e, LPLUG_EVALUE, e->depth, " is a %s (only nil, booleans, "
                  "numbers, strings and tables can leave a plugin)",
                  lua_typename(L, lua_type(L, idx)));
  }
}

int value_from_lua_work(lua_State *L, int idx, lplug_value *out,
                        const char *root, size_t max_bytes, char *err,
                        size_t errsize, size_t *work) {
  enc e;
  int top, ok, type = lua_type(L, idx);
  if (work) *work = 0;  /* the scalars below write a byte or so: free */
  /* The common small results first: no walk, no checks needed.  An
  ** integer, not any number: the float 3.0 stays a float. */
  if (type == LUA_TNUMBER && lua_isinteger(L, idx))
    return value_set_integer(out, lua_tointeger(L, idx));
  if (type == LUA_TNIL || type == LUA_TBOOLEAN) {
    if (out->cap == 0 && value_reserve(out, 1) != LPLUG_OK)
      return LPLUG_ENOMEM;
    out->bytes[0] = type == LUA_TNIL ? VALUE_NIL
                  : lua_toboolean(L, idx) ? VALUE_TRUE : VALUE_FALSE;
    out->len = 1;
    return LPLUG_OK;
  }
  top = lua_gettop(L);
  size_t base = out->len;        /* write after the old value, keep it */
  e.L = L;
  e.out = out;
  e.max = max_bytes;
  e.limit = max_bytes > (size_t)-1 - base ? (size_t)-1 : base + max_bytes;
  e.root = root ? root : "value";
  e.err = err;
  e.errsize = err ? errsize : 0;
  e.errlen = 0;
  e.rc = LPLUG_OK;
  e.depth = 0;
  e.work = 0;
  e.deepest = 0;
  e.done = e.inline_done;
  e.ndone = 0;
  e.capdone = DONE_INLINE;
  e.index = NULL;
  e.nindex = e.usedindex = 0;
  if (e.errsize) err[0] = 0;
  ok = encode(&e, lua_absindex(L, idx));
  if (e.done != e.inline_done) free(e.done);
  free(e.index);
  if (!ok) {
    lua_settop(L, top);
    if (work) *work = e.work;
    out->len = base;
    /* a refusal at the value limit grew out for nothing; the modules
    ** raise without setting their scratch to nil */
    value_trim(out);
    return e.rc;
  }
  lua_settop(L, top);
  if (work) *work = e.work;
  memmove(out->bytes, out->bytes + base, out->len - base);
  out->len -= base;
  return LPLUG_OK;
}

/* }====================================================== */


/*
** {======================================================
** encoding -> Lua (trusts a checked buffer; raises on memory errors)
** =======================================================
*/

static const unsigned char *skip_value(const unsigned char *p) {
  uint64_t x;
  switch (*p) {
    case VALUE_INT: return get_varint(p + 1, &x);
    case VALUE_FLOAT: return p + 9;
    case VALUE_STRING: p = get_varint(p + 1, &x); return p + x + 1;
    case VALUE_TABLE:
      return p + 5 + ((uint32_t)p[1] | (uint32_t)p[2] << 8 |
                      (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24);
    default: return p + 1;
  }
}

static const unsigned char *push(lua_State *L, const unsigned char *p,
                                 size_t *items);

/* Short strings without NULs go through lua_pushstring: its cache, keyed
** by address, skips hashing when the same value is pushed again (one
** hook argument into one state after another, call after call). */
static void push_string(lua_State *L, const char *s, size_t len) {
  if (len <= 40 && strlen(s) == len) lua_pushstring(L, s);
  else lua_pushlstring(L, s, len);
}

static const unsigned char *push_table(lua_State *L, const unsigned char *p,
                                       size_t *items) {
  const unsigned char *end = skip_value(p);
  uint64_t narr, nhash, i;
  p = get_varint(p + 5, &narr);
  p = get_varint(p, &nhash);
  luaL_checkstack(L, 3, "value nested too deep");
  lua_createtable(L, narr > INT_MAX ? INT_MAX : (int)narr,
                  nhash > INT_MAX ? INT_MAX : (int)nhash);
  for (i = 1; i <= narr; i++) {
    if (*p == VALUE_NIL) {                   /* a hole */
      p++;
      continue;
    }
    p = push(L, p, items);
    lua_rawseti(L, -2, (lua_Integer)i);
  }
  for (i = 0; i < nhash; i++) {
    if (*p == VALUE_STRING) {                /* the common key */
      uint64_t klen;
      const char *k = (const char *)get_varint(p + 1, &klen);
      const unsigned char *val = (const unsigned char *)k + klen + 1;
      if (*val == VALUE_NIL) {               /* key = nil: absent */
        p = val + 1;
        continue;
      }
      if (klen <= 40 && strlen(k) == klen) {
        /* The table is new (no metatable), so lua_setfield is a raw set;
        ** it finds the key through Lua's string cache by address. */
        p = push(L, val, items);
        lua_setfield(L, -2, k);
        ++*items;                            /* the key */
      } else {
        lua_pushlstring(L, k, (size_t)klen);
        p = push(L, val, items);
        lua_rawset(L, -3);
        ++*items;
      }
      continue;
    }
    /* value_check refuses nil, NaN and table keys; stay safe anyway */
    if (*p == VALUE_NIL || *p == VALUE_TABLE ||
        (*p == VALUE_FLOAT && isnan(get_double(p + 1)))) {
      p = skip_value(skip_value(p));
      continue;
    }
    p = push(L, p, items);                   /* key */
    if (*p == VALUE_NIL) {                   /* key = nil: absent */
      lua_pop(L, 1);
      p++;
      continue;
    }
    p = push(L, p, items);
    lua_rawset(L, -3);
  }
  return end;
}

static const unsigned char *push(lua_State *L, const unsigned char *p,
                                 size_t *items) {
  uint64_t x;
  ++*items;
  switch (*p) {
    case VALUE_NIL: lua_pushnil(L); return p + 1;
    case VALUE_FALSE: lua_pushboolean(L, 0); return p + 1;
    case VALUE_TRUE: lua_pushboolean(L, 1); return p + 1;
    case VALUE_INT:
      p = get_varint(p + 1, &x);
      lua_pushinteger(L, (x & 1) ? -(lua_Integer)(x >> 1) - 1
                                 : (lua_Integer)(x >> 1));
      return p;
    case VALUE_FLOAT: lua_pushnumber(L, get_double(p + 1)); return p + 9;
    case VALUE_STRING:
      p = get_varint(p + 1, &x);
      push_string(L, (const char *)p, (size_t)x);
      return p + x + 1;
    case VALUE_TABLE: return push_table(L, p, items);
    default: lua_pushinteger(L, *p & 0x7f); return p + 1;
  }
}

int value_push_other_scalar(lua_State *L, const lplug_value *v) {
  size_t items = 0;
  if (v->bytes[0] == VALUE_STRING || v->bytes[0] == VALUE_TABLE) return 0;
  push(L, v->bytes, &items);
  return 1;
}

size_t value_push_lua(lua_State *L, const lplug_value *v, size_t at) {
  const unsigned char *p = v->bytes + at;
  size_t items = 0;
  if (*p != VALUE_TABLE)                   /* push_table checks its own */
    luaL_checkstack(L, 1, "no room for a value");
  return (size_t)(push(L, p, &items) - p) + items * VALUE_ITEM_WORK;
}

/* }====================================================== */
