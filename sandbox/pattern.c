/*
** pattern.c -- Lua 5.4 patterns that pay for their work: string.find,
** string.match, string.gmatch and string.gsub as plugins get them.
**
** Why our own matcher (SANDBOX-NOTES 4).  The standard one backtracks in
** C without ever returning to the VM: string.find(s, ".-.-.-x") on a few
** hundred bytes runs for seconds, the count hook never fires and a late
** deadline cannot stop it.  This matcher counts steps (each pattern item
** tried at a position, each character a quantifier or %b scans, each byte
** a back-reference compares) and every MATCH_BATCH steps charges them to
** the call's budget with budget_charge, which also stops a call whose
** deadline has passed.  So a match costs instructions in proportion to its
** work in instruction mode, and is interrupted within microseconds of the
** deadline in deadline mode.  Plain searches charge the bytes they
** compare.  Recursion is bounded by MATCH_MAXDEPTH ("pattern too complex")
** so the C stack stays small.
**
** The language and the error texts are those of Lua 5.4 (manual 6.4.1).
** Written for lplug from the manual; no code of lstrlib.c is copied.
*/
#include <ctype.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "sandbox/sandbox.h"

#define MATCH_MAXDEPTH 200       /* nested items, as Lua's MAXCCALLS */
#define MATCH_MAXCAPTURES 32     /* as Lua's LUA_MAXCAPTURES */
#define MATCH_BATCH 1024         /* steps between two charges */
#define STEPS_PER_INSTRUCTION 2  /* a step is about half a VM instruction */
#define BYTES_PER_STEP 16        /* memchr/memcmp/copies: bytes per step */

#define CAP_OPEN (-1)            /* capture length: not closed yet */
#define CAP_POS (-2)             /* capture length: position capture */

#define SPECIALS "^$*+?.([%-"

typedef struct capture {
  const char *at;
  ptrdiff_t len;                 /* or CAP_OPEN, CAP_POS */
} capture;

typedef struct matcher {
  lua_State *L;
  const char *s0, *s_end;        /* the subject */
  const char *p_end;             /* end of the pattern (a NUL follows) */
  int depth;                     /* nesting left */
  int ncap;
  unsigned long steps;           /* not charged yet */
  capture cap[MATCH_MAXCAPTURES];
} matcher;

static unsigned char uc(char c) { return (unsigned char)c; }

/* Counts n steps; charges them once a batch is full (may raise). */
static void step(matcher *m, unsigned long n) {
  m->steps += n;
  if (m->steps >= MATCH_BATCH) {
    long long k = (long long)(m->steps / STEPS_PER_INSTRUCTION);
    m->steps %= STEPS_PER_INSTRUCTION;
    budget_charge(m->L, k);
  }
}

/* Charges what is left of a call's steps, rounded up: dropping up to a
** batch per call let a loop of short calls run free. */
static void settle(matcher *m) {
  if (m->steps > 0) {
    long long k = (long long)((m->steps + STEPS_PER_INSTRUCTION - 1) /
                              STEPS_PER_INSTRUCTION);
    m->steps = 0;
    budget_charge(m->L, k);
  }
}

static void matcher_init(matcher *m, lua_State *L, const char *s, size_t ls,
                         const char *p, size_t lp) {
  m->L = L;
  m->s0 = s;
  m->s_end = s + ls;
  m->p_end = p + lp;
  m->depth = MATCH_MAXDEPTH;
  m->ncap = 0;
  m->steps = 0;
}

/* Whether character c belongs to class letter cl (%a, %D, ...); any other
** letter stands for itself. */
static int in_class(int c, int cl) {
  int r;
  switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = c == 0; break;  /* deprecated in 5.2, still in 5.4 */
    default: return cl == c;
  }
  if (isupper(cl)) r = !r;
  return r != 0;
}

/* The end of the single-character class starting at p. */
static const char *class_end(matcher *m, const char *p) {
  char c = *p++;
  if (c == '%') {
    if (p >= m->p_end)
      luaL_error(m->L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if (c == '[') {
    const char *start = p;
    if (*p == '^') p++;
    /* The first character of a set is never its end: "[]]" holds ']'. */
    do {
      if (p >= m->p_end)
        luaL_error(m->L, "malformed pattern (missing ']')");
      c = *p++;
      if (c == '%' && p < m->p_end) p++;
    } while (*p != ']');
    /* a set is scanned whole here and by every in_set: its length counts */
    step(m, (unsigned long)(p - start) / BYTES_PER_STEP);
    return p + 1;
  }
  return p;
}

/* Whether c is in the set [..] from p ('[') to close (its ']'). */
static int in_set(int c, const char *p, const char *close) {
  int yes = 1;
  p++;
  if (*p == '^') {
    yes = 0;
    p++;
  }
  while (p < close) {
    if (*p == '%' && p + 1 < close) {
      if (in_class(c, uc(p[1]))) return yes;
      p += 2;
    } else if (p[1] == '-' && p + 2 < close) {
      if (uc(p[0]) <= c && c <= uc(p[2])) return yes;
      p += 3;
    } else {
      if (uc(*p) == c) return yes;
      p++;
    }
  }
  return !yes;
}

/* Whether the subject character at s matches the class from p to ep. */
static int single(matcher *m, const char *s, const char *p, const char *ep) {
  int c;
  if (s >= m->s_end) return 0;
  c = uc(*s);
  switch (*p) {
    case '.': return 1;
    case '%': return in_class(c, uc(p[1]));
    case '[':
      step(m, (unsigned long)(ep - p) / BYTES_PER_STEP);
      return in_set(c, p, ep - 1);
    default: return uc(*p) == c;
  }
}

static const char *do_match(matcher *m, const char *s, const char *p);

/* %bxy at s; p points at x. */
static const char *balance(matcher *m, const char *s, const char *p) {
  int open = 1;
  if (p + 1 >= m->p_end)
    luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
  if (s >= m->s_end || *s != p[0]) return NULL;
  for (s++; s < m->s_end; s++) {
    step(m, 1);
    if (*s == p[1]) {
      if (--open == 0) return s + 1;
    } else if (*s == p[0]) {
      open++;
    }
  }
  return NULL;
}

/* %1..%9 at s: the text of a closed capture again. */
static const char *backref(matcher *m, const char *s, int digit) {
  int i = digit - '1';
  ptrdiff_t len;
  if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN)
    luaL_error(m->L, "invalid capture index %%%d", i + 1);
  len = m->cap[i].len;
  if (len < 0 || m->s_end - s < len) return NULL;  /* position capture */
  step(m, (unsigned long)len / BYTES_PER_STEP + 1);
  return memcmp(m->cap[i].at, s, (size_t)len) == 0 ? s + len : NULL;
}

/* Greedy: as many as match, then back off one at a time. */
static const char *max_expand(matcher *m, const char *s, const char *p,
                              const char *ep) {
  ptrdiff_t n = 0;
  while (single(m, s + n, p, ep)) {
    n++;
    step(m, 1);
  }
  for (; n >= 0; n--) {
    const char *r = do_match(m, s + n, ep + 1);
    if (r != NULL) return r;
  }
  return NULL;
}

/* Lazy: the rest first, then one more. */
static const char *min_expand(matcher *m, const char *s, const char *p,
                              const char *ep) {
  for (;;) {
    const char *r = do_match(m, s, ep + 1);
    if (r != NULL) return r;
    if (!single(m, s, p, ep)) return NULL;
    s++;
  }
}

static const char *open_capture(matcher *m, const char *s, const char *p,
                                ptrdiff_t what) {
  const char *r;
  if (m->ncap >= MATCH_MAXCAPTURES) luaL_error(m->L, "too many captures");
  m->cap[m->ncap].at = s;
  m->cap[m->ncap].len = what;
  m->ncap++;
  r = do_match(m, s, p);
  if (r == NULL) m->ncap--;
  return r;
}

static const char *close_capture(matcher *m, const char *s, const char *p) {
  const char *r;
  int i = m->ncap - 1;
  while (i >= 0 && m->cap[i].len != CAP_OPEN) i--;
  if (i < 0) luaL_error(m->L, "invalid pattern capture");
  m->cap[i].len = s - m->cap[i].at;
  r = do_match(m, s, p);
  if (r == NULL) m->cap[i].len = CAP_OPEN;
  return r;
}

/* %f[set] at s: the previous character is not in set, this one is. */
static int frontier(matcher *m, const char *s, const char *p,
                    const char **ep) {
  int prev, cur;
  if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
  *ep = class_end(m, p);
  prev = s == m->s0 ? 0 : uc(s[-1]);
  cur = s < m->s_end ? uc(*s) : 0;
  step(m, 2 * (unsigned long)(*ep - p) / BYTES_PER_STEP);
  return !in_set(prev, p, *ep - 1) && in_set(cur, p, *ep - 1);
}

/* The end of a match of pattern p at subject s, or NULL.  Items that need
** no backtracking loop here; the others recurse. */
static const char *match_here(matcher *m, const char *s, const char *p) {
  for (;;) {
    const char *ep;
    int ok;
    step(m, 1);
    if (p == m->p_end) return s;
    switch (*p) {
      case '(':
        if (p + 1 < m->p_end && p[1] == ')')
          return open_capture(m, s, p + 2, CAP_POS);
        return open_capture(m, s, p + 1, CAP_OPEN);
      case ')':
        return close_capture(m, s, p + 1);
      case '$':
        if (p + 1 == m->p_end) return s == m->s_end ? s : NULL;
        break;
      case '%':
        if (p[1] == 'b') {
          if ((s = balance(m, s, p + 2)) == NULL) return NULL;
          p += 4;
          continue;
        }
        if (p[1] == 'f') {
          if (!frontier(m, s, p + 2, &ep)) return NULL;
          p = ep;
          continue;
        }
        if (isdigit(uc(p[1]))) {
          if ((s = backref(m, s, uc(p[1]))) == NULL) return NULL;
          p += 2;
          continue;
        }
        break;
      default:
        break;
    }
    ep = class_end(m, p);
    ok = single(m, s, p, ep);
    switch (ep < m->p_end ? *ep : '\0') {
      case '?':
        if (ok) {
          const char *r = do_match(m, s + 1, ep + 1);
          if (r != NULL) return r;
        }
        p = ep + 1;
        continue;
      case '+':
        return ok ? max_expand(m, s + 1, p, ep) : NULL;
      case '*':
        return max_expand(m, s, p, ep);
      case '-':
        return min_expand(m, s, p, ep);
      default:
        if (!ok) return NULL;
        s++;
        p = ep;
    }
  }
}

static const char *do_match(matcher *m, const char *s, const char *p) {
  const char *r;
  if (m->depth-- <= 0) luaL_error(m->L, "pattern too complex");
  r = match_here(m, s, p);
  m->depth++;
  return r;
}

/* Tries p at s as a fresh match. */
static const char *match_at(matcher *m, const char *s, const char *p) {
  m->ncap = 0;
  m->depth = MATCH_MAXDEPTH;
  return do_match(m, s, p);
}

/* Pushes capture i of a match from s to e (the whole match when there is
** no capture and i is 0). */
static void push_capture(matcher *m, int i, const char *s, const char *e) {
  if (i >= m->ncap) {
    if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(m->L, s, (size_t)(e - s));
    return;
  }
  if (m->cap[i].len == CAP_OPEN) luaL_error(m->L, "unfinished capture");
  if (m->cap[i].len == CAP_POS)
    lua_pushinteger(m->L, (lua_Integer)(m->cap[i].at - m->s0) + 1);
  else
    lua_pushlstring(m->L, m->cap[i].at, (size_t)m->cap[i].len);
}

/* Pushes every capture (s NULL: none for a match without captures). */
static int push_captures(matcher *m, const char *s, const char *e) {
  int n = (m->ncap == 0 && s != NULL) ? 1 : m->ncap, i;
  luaL_checkstack(m->L, n, "too many captures");
  for (i = 0; i < n; i++) push_capture(m, i, s, e);
  return n;
}

/* A start position as Lua counts it (negative from the end), 1-based. */
static size_t start_pos(lua_Integer pos, size_t len) {
  if (pos > 0) return (size_t)pos;
  if (pos == 0 || pos < -(lua_Integer)len) return 1;
  return len + (size_t)pos + 1;
}

static int has_specials(const char *p, size_t lp) {
  size_t i;
  for (i = 0; i < lp; i++)
    if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL) return 1;
  return 0;
}

/* First occurrence of p in s, charging the bytes compared. */
static const char *plain_find(matcher *m, const char *s, size_t ls,
                              const char *p, size_t lp) {
  const char *last;
  if (lp == 0) return s;
  if (lp > ls) return NULL;
  last = s + (ls - lp);              /* last possible start */
  while (s <= last) {
    const char *hit = memchr(s, p[0], (size_t)(last - s) + 1);
    if (hit == NULL) {
      step(m, (unsigned long)(last - s) / BYTES_PER_STEP + 1);
      return NULL;
    }
    step(m, (unsigned long)(hit - s + (ptrdiff_t)lp) / BYTES_PER_STEP + 1);
    if (memcmp(hit + 1, p + 1, lp - 1) == 0) return hit;
    s = hit + 1;
  }
  return NULL;
}

static int find_aux(lua_State *L, int find) {
  size_t ls, lp, init;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  matcher m;
  init = start_pos(luaL_optinteger(L, 3, 1), ls);
  if (init > ls + 1) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
    const char *hit;
    matcher_init(&m, L, s, ls, p, lp);
    hit = plain_find(&m, s + init - 1, ls - init + 1, p, lp);
    settle(&m);
    if (hit != NULL) {
      lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
      lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
      return 2;
    }
  } else {
    const char *at = s + init - 1;
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
      p++;
      lp--;
    }
    matcher_init(&m, L, s, ls, p, lp);
    do {
      const char *e = match_at(&m, at, p);
      if (e != NULL) {
        settle(&m);
        if (!find) return push_captures(&m, at, e);
        lua_pushinteger(L, (lua_Integer)(at - s) + 1);
        lua_pushinteger(L, (lua_Integer)(e - s));
        return push_captures(&m, NULL, NULL) + 2;
      }
    } while (at++ < m.s_end && !anchor);
    settle(&m);
  }
  luaL_pushfail(L);
  return 1;
}

static int str_find(lua_State *L) { return find_aux(L, 1); }
static int str_match(lua_State *L) { return find_aux(L, 0); }

/* gmatch keeps its matcher in a userdata; subject and pattern are the
** iterator's other upvalues, so the pointers into them stay valid. */
typedef struct gmatch_state {
  matcher m;
  const char *p;                 /* the pattern */
  const char *at;                /* where the next search starts */
  const char *last;              /* end of the last match */
} gmatch_state;

static int gmatch_next(lua_State *L) {
  gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
  const char *at;
  g->m.L = L;  /* the iterator may run on another coroutine */
  for (at = g->at; at <= g->m.s_end; at++) {
    const char *e = match_at(&g->m, at, g->p);
    if (e != NULL && e != g->last) {
      g->at = g->last = e;
      settle(&g->m);
      return push_captures(&g->m, at, e);
    }
  }
  g->at = at;  /* past the end: later calls find nothing at once */
  settle(&g->m);
  return 0;
}

static int str_gmatch(lua_State *L) {
  size_t ls, lp, init;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  gmatch_state *g;
  init = start_pos(luaL_optinteger(L, 3, 1), ls);
  /* Past the end: no match at all, not even an empty one there (the
  ** pattern is then never read, as in stock Lua). */
  if (init > ls + 1) init = ls + 2;
  lua_settop(L, 2);
  g = lua_newuserdatauv(L, sizeof *g, 0);
  matcher_init(&g->m, L, s, ls, p, lp);
  g->p = p;
  g->at = s + init - 1;
  g->last = NULL;
  lua_pushcclosure(L, gmatch_next, 3);
  return 1;
}

/* Appends replacement string (argument 3) for a match from s to e. */
static void add_string(matcher *m, luaL_Buffer *b, const char *s,
                       const char *e) {
  size_t l;
  const char *r = lua_tolstring(m->L, 3, &l), *end = r + l, *q;
  step(m, l / BYTES_PER_STEP + 1);
  SANDBOX_BUFFER_ROOM(b, l);
  while ((q = memchr(r, '%', (size_t)(end - r))) != NULL) {
    luaL_addlstring(b, r, (size_t)(q - r));
    q++;
    if (*q == '%') {
      luaL_addchar(b, '%');
    } else if (*q == '0') {
      step(m, (unsigned long)(e - s) / BYTES_PER_STEP + 1);
      SANDBOX_BUFFER_ROOM(b, (size_t)(e - s));
      luaL_addlstring(b, s, (size_t)(e - s));
    } else if (isdigit(uc(*q))) {
      push_capture(m, *q - '1', s, e);
      step(m, lua_rawlen(m->L, -1) / BYTES_PER_STEP + 1);
      SANDBOX_BUFFER_ROOM(b, lua_rawlen(m->L, -1) + 64);  /* or a number */
      luaL_addvalue(b);  /* a position capture is a number: converted */
    } else {
      luaL_error(m->L, "invalid use of '%%' in replacement string");
    }
    r = q + 1;
  }
  luaL_addlstring(b, r, (size_t)(end - r));
}

/* Appends the replacement of a match; returns whether it changed it. */
static int add_value(matcher *m, luaL_Buffer *b, const char *s, const char *e,
                     int tr) {
  lua_State *L = m->L;
  if (tr == LUA_TFUNCTION) {
    int n;
    lua_pushvalue(L, 3);
    n = push_captures(m, s, e);
    lua_call(L, n, 1);
  } else if (tr == LUA_TTABLE) {
    push_capture(m, 0, s, e);
    lua_gettable(L, 3);
  } else {
    add_string(m, b, s, e);
    return 1;
  }
  if (!lua_toboolean(L, -1)) {  /* nil or false: keep the match */
    lua_pop(L, 1);
    SANDBOX_BUFFER_ROOM(b, (size_t)(e - s));
    luaL_addlstring(b, s, (size_t)(e - s));
    return 0;
  }
  if (!lua_isstring(L, -1))
    return luaL_error(L, "invalid replacement value (a %s)",
                      luaL_typename(L, -1));
  step(m, lua_rawlen(L, -1) / BYTES_PER_STEP + 1);
  SANDBOX_BUFFER_ROOM(b, lua_rawlen(L, -1) + 64);  /* or a number */
  luaL_addvalue(b);
  return 1;
}

static int str_gsub(lua_State *L) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  const char *last = NULL;
  int tr = lua_type(L, 3), anchor = lp > 0 && *p == '^', changed = 0;
  lua_Integer most = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;
  matcher m;
  luaL_Buffer b;
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
                   tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  lua_settop(L, 3);
  luaL_buffinit(L, &b);
  if (anchor) {
    p++;
    lp--;
  }
  matcher_init(&m, L, s, ls, p, lp);
  while (n < most) {
    const char *e = match_at(&m, s, p);
    if (e != NULL && e != last) {
      n++;
      changed |= add_value(&m, &b, s, e, tr);
      s = last = e;
    } else if (s < m.s_end) {
      SANDBOX_BUFFER_ROOM(&b, 1);
      luaL_addchar(&b, *s++);
    } else {
      break;
    }
    if (anchor) break;
  }
  settle(&m);
  if (!changed) {
    lua_pushvalue(L, 1);
  } else {
    step(&m, (unsigned long)(m.s_end - s) / BYTES_PER_STEP);
    settle(&m);
    SANDBOX_BUFFER_ROOM(&b, (size_t)(m.s_end - s));
    luaL_addlstring(&b, s, (size_t)(m.s_end - s));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
  return 2;
}

void pattern_open(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"find", str_find}, {"match", str_match}, {"gmatch", str_gmatch},
    {"gsub", str_gsub}, {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
