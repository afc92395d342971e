/*
** chunkcache.c -- compiled plugin code, kept to make loading it again
** cheap (another engine loading the same plugin, a reload).
**
** Only bytecode this process compiled itself from a plugin's source text
** is ever loaded back: a plugin cannot hand in bytecode (its load is text
** only), and nothing is read from disk.  An entry is found by its chunk
** name and its source, compared byte for byte, so a changed file is never
** served the old code.  The cache is shared by the
** engines of the process, guarded by a mutex, and bounded in bytes (the
** oldest entries go first).  The bucket is picked by the chunk name and
** the source's length, so a load served from the cache reads its source
** once, to compare it: hashing it too was a sixth of a cached load's time
** outside Lua.
**
** A chunk is kept the second time it is compiled, not the first: dumping
** costs about a tenth of a compile, which a file loaded once (most
** plugins, at startup) would pay for nothing.  The first time only a hash
** of its name and whole source is noted.
*/
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "sandbox/sandbox.h"

#define BUCKETS 1024
#define SEEN 4096     /* slots for hashes of chunks compiled once */

typedef struct entry {
  struct entry *next;         /* in its bucket */
  struct entry *younger;      /* in age order, oldest first */
  uint64_t hash;               /* of the name and the source's length */
  size_t keylen, dumplen;
  char *key;                  /* chunk name, NUL, source */
  unsigned char *dump;        /* lua_dump of the compiled chunk */
} entry;

static struct {
  pthread_mutex_t lock;
  entry *buckets[BUCKETS];
  entry *oldest, *youngest;
  size_t bytes;
  unsigned long long hits, misses;
  uint64_t seen[SEEN];
} cache = {PTHREAD_MUTEX_INITIALIZER, {NULL}, NULL, NULL, 0, 0, 0, {0}};

/* Whether h was noted before; notes it.  Called with the lock held.
** Direct-mapped: a slot keeps the last hash that fell in it, so noting
** costs one compare whatever the number of files (a hash pushed out only
** delays keeping that chunk by one more compile). */
static int seen_before(uint64_t h) {
  uint64_t *slot = &cache.seen[h % SEEN];
  if (*slot == h) return 1;
  *slot = h;
  return 0;
}

/* Picks the bucket (the bytes decide a match) and the seen slot.  Eight
** bytes a step: FNV-1a, a byte a step, was 33 K instructions of a cold
** 200-line load (2 % of it). */
static uint64_t hash(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t w;
  for (; n >= 8; s += 8, n -= 8) {
    memcpy(&w, s, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 32;
  }
  while (n--) h = (h ^ *s++) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

static entry *find(uint64_t h, const char *name, size_t nlen,
                   const char *src, size_t slen) {
  entry *e;
  for (e = cache.buckets[h % BUCKETS]; e; e = e->next)
    if (e->hash == h && e->keylen == nlen + 1 + slen &&
        memcmp(e->key, name, nlen + 1) == 0 &&
        memcmp(e->key + nlen + 1, src, slen) == 0)
      return e;
  return NULL;
}

static void drop_oldest(void) {
  entry *e = cache.oldest, **p;
  for (p = &cache.buckets[e->hash % BUCKETS]; *p != e; p = &(*p)->next) {}
  *p = e->next;
  cache.oldest = e->younger;
  if (cache.oldest == NULL) cache.youngest = NULL;
  cache.bytes -= e->keylen + e->dumplen;
  free(e->key);
  free(e->dump);
  free(e);
}

typedef struct buffer {
  unsigned char *p;
  size_t len, cap;
  int failed;
} buffer;

static int write_dump(lua_State *L, const void *p, size_t n, void *ud) {
  buffer *b = ud;
  (void)L;
  if (b->failed) return 1;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    unsigned char *q;
    while (cap < b->len + n) cap *= 2;
    if ((q = realloc(b->p, cap)) == NULL) {
      b->failed = 1;
      return 1;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return 0;
}

/* Keeps the dump of the function on top of L under (name, src).  Not
** keeping it (no memory, too big) only costs the next load its compile. */
static void keep(lua_State *L, uint64_t h, const char *name, size_t nlen,
                 const char *src, size_t slen) {
  buffer b = {NULL, 0, 0, 0};
  entry *e;
  size_t size;
  /* A dump is about twice its source: one allocation, not a dozen. */
  if ((b.p = malloc(slen * 2 + 1024)) != NULL) b.cap = slen * 2 + 1024;
  if (lua_dump(L, write_dump, &b, 0) != 0 || b.failed ||
      (e = calloc(1, sizeof *e)) == NULL) {
    free(b.p);
    return;
  }
  e->hash = h;
  e->keylen = nlen + 1 + slen;
  e->dumplen = b.len;
  e->dump = b.p;
  size = e->keylen + e->dumplen;
  if (size > SANDBOX_CHUNK_CACHE_BYTES / 4 ||
      (e->key = malloc(e->keylen)) == NULL) {
    free(e->dump);
    free(e);
    return;
  }
  memcpy(e->key, name, nlen + 1);
  memcpy(e->key + nlen + 1, src, slen);
  pthread_mutex_lock(&cache.lock);
  if (find(h, name, nlen, src, slen) != NULL) {  /* another thread won */
    pthread_mutex_unlock(&cache.lock);
    free(e->key);
    free(e->dump);
    free(e);
    return;
  }
  while (cache.oldest && cache.bytes + size > SANDBOX_CHUNK_CACHE_BYTES)
    drop_oldest();
  e->next = cache.buckets[h % BUCKETS];
  cache.buckets[h % BUCKETS] = e;
  if (cache.youngest) cache.youngest->younger = e;
  else cache.oldest = e;
  cache.youngest = e;
  cache.bytes += size;
  pthread_mutex_unlock(&cache.lock);
}

int chunkcache_load(lua_State *L, const char *src, size_t slen,
                    const char *name) {
  size_t nlen = strlen(name);
  uint64_t n = slen,
           h = hash(hash(0xcbf29ce484222325ULL, name, nlen + 1), &n, sizeof n);
  unsigned char *copy = NULL;
  size_t len = 0;
  uint64_t whole;
  entry *e;
  int status, again;
  pthread_mutex_lock(&cache.lock);
  if ((e = find(h, name, nlen, src, slen)) != NULL &&
      (copy = malloc(e->dumplen)) != NULL) {
    memcpy(copy, e->dump, e->dumplen);
    len = e->dumplen;
    cache.hits++;
  }
  pthread_mutex_unlock(&cache.lock);
  if (copy != NULL) {  /* our own bytecode; lua_load never raises */
    status = luaL_loadbufferx(L, (const char *)copy, len, name, "b");
    free(copy);
    return status;
  }
  /* A miss: the whole source is hashed outside the lock (4 MB at most
  ** would hold every other load up for a millisecond), then noted. */
  whole = hash(h, src, slen);
  pthread_mutex_lock(&cache.lock);
  cache.misses++;
  again = seen_before(whole);
  pthread_mutex_unlock(&cache.lock);
  status = luaL_loadbufferx(L, src, slen, name, "t");
  if (status == LUA_OK && again) keep(L, h, name, nlen, src, slen);
  return status;
}

/* The cache belongs to no engine (see above), so no engine frees it: it
** goes when the library is unloaded, or the process ends.  Unloading
** happens: lua_close dlcloses the Lua 5.4 module, which links the engine
** in, and the cache would stay allocated with nothing pointing at it.
** Taken under the lock, as everything else: a thread still loading while
** the process exits finds an empty cache, never a freed entry.  The
** mutex is left alone for that thread's sake. */
#if defined(__GNUC__)
__attribute__((destructor))
#endif
static void free_at_unload(void) {
  pthread_mutex_lock(&cache.lock);
  while (cache.oldest) drop_oldest();
  pthread_mutex_unlock(&cache.lock);
}

void chunkcache_counts(unsigned long long *hits, unsigned long long *misses) {
  pthread_mutex_lock(&cache.lock);
  *hits = cache.hits;
  *misses = cache.misses;
  pthread_mutex_unlock(&cache.lock);
}
