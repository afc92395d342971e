/*
** alloc.c -- the limiting allocator every plugin state is made with.
**
** Counts the bytes Lua asks for (not the allocator's overhead) against the
** plugin's memory limit.  Inside a plugin call the limit is exact; outside
** one the engine may use SANDBOX_SLACK more for its own pushes.
**
** The count includes garbage the collector has not reached yet (the
** incremental collector lets the heap grow to about twice what is live
** before a cycle ends), so an allocation that does not fit is refused
** softly first: Lua then runs a full emergency collection and asks for
** the same block again, and only if that second try does not fit either
** is the refusal final.  Without this a plugin holding half its limit
** failed on its first burst of temporary strings.
**
** A final refusal stops the call (budget_stop): the count hook fires on
** the next instruction and raises again on every instruction until the
** call unwinds, and every later growth in the same call is refused
** without asking, so a memory error cannot be caught and retried.
**
** Attacks on the soft refusal:
**  - A plugin keeping its heap at the limit makes every allocation a full
**    collection.  Each soft refusal is charged as collectgarbage("collect")
**    is, a heap's worth (budget_owe), so the budget bounds them; one the
**    budget cannot pay for is final at once (a memory stop).
**  - Not every caller tries again: a string buffer growing (lauxlib)
**    raises "not enough memory" at once, and a pcall could catch it.  A
**    soft refusal therefore arms the hook for the next instruction, and a
**    refusal still awaiting its second try there, at any other growth
**    (the second try asks for exactly the same block), or when the call
**    ends, becomes final (sandbox_refusal_final), said at the line that
**    was refused.  So that their garbage does not count either, the
**    sandbox's own buffer builders and the guards of those that build
**    one of a known size collect first when they would not fit
**    (sandbox_make_room).
**
** So that a plugin holding up to about 70% of its limit does not live by
** charged emergency collections, the collector's pause (Lua's default
** lets the heap grow to twice what a cycle left live before the next
** cycle begins) is fitted to the limit after each full collection the
** limit forced or the plugin asked for (sandbox_fit_collector).  Measured with a plugin holding half its
** 512 KB and making 45 KB of garbage per call: 17,110 instructions
** charged per call with Lua's pause (an emergency collection every few
** calls), 2,772 fitted, against 2,706 with a limit it never meets.
**
** Small blocks (up to SANDBOX_SMALL_MAX bytes: nearly every Lua object)
** come from the state's own arena: chunks carved in 16-byte size classes,
** a free list per class.  Lua passes the size of every block it frees or
** resizes, so a block needs no header, and the class is known from the
** size alone.  Measured: a new state in 0.78x the time of one on malloc,
** an allocation-heavy handler in 0.73x (docs/performance.md), and a
** state's objects sit together in memory.
**
** A freed small block stays with its state for reuse until the state
** closes.  Bound: the arena stops growing at the memory limit (plus the
** slack).  Past that, small blocks are malloc'd one by one like large
** ones ("full" arena), and a freed block is looked up among the chunks
** to know where it goes back; so a state never holds more than twice its
** limit, however it mixes sizes.  Only a state that filled its arena pays
** for the lookup, over at most ARENA_MAX_CHUNKS chunks.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox.h"

/* Freeing, new objects and resizes are separate paths so that each saves
** only the registers it needs: as one function GCC saved five on every
** call, and a new state makes about 500 calls.  noinline keeps GCC from
** merging them again. */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Sanitizer builds see each block as its own: a freed block, a chunk's
** uncarved space and the bytes past what Lua asked for (to the end of
** the class) are unaddressable (ASan) or no-access (valgrind memcheck,
** built with -DLPLUG_VALGRIND), as with malloc.  ASan tracks 8-byte
** granules, so it sees a block's end to the byte only where the block
** is at least that long. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define HIDE(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SHOW(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define SHOW_LINK(p) ASAN_UNPOISON_MEMORY_REGION((p), sizeof(void *))
#elif defined(LPLUG_VALGRIND)
#include <valgrind/memcheck.h>
#define HIDE(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define SHOW(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define SHOW_LINK(p) VALGRIND_MAKE_MEM_DEFINED((p), sizeof(void *))
#else
#define HIDE(p, n) ((void)(p), (void)(n))
#define SHOW(p, n) ((void)(p), (void)(n))
#define SHOW_LINK(p) ((void)(p))
#endif

#define CLASS_OF(n) (((n) - 1) >> 4)          /* n in 1..SMALL_MAX */
#define CLASS_BYTES(c) (((size_t)(c) + 1) << 4)

/* The first chunk holds a new state with its standard library (about
** 9.5 KB of small blocks); later chunks double up to ARENA_BIG_CHUNK, or
** up to a 64th of the limit for large limits, which keeps the chunks a
** full arena searches to about ARENA_MAX_CHUNKS. */
#define ARENA_FIRST_CHUNK (10 * 1024)
#define ARENA_BIG_CHUNK (64 * 1024)
#define ARENA_MAX_CHUNKS 80

/* Chunk header, padded so blocks keep malloc's 16-byte alignment. */
typedef union arena_chunk {
  struct {
    union arena_chunk *next;
    size_t size;            /* bytes, header included */
  } h;
  char pad[16];
} arena_chunk;

/* Whether the Lua library running keeps a thread's frames readable while
** it allocates a new stack for it.  Up to 5.4.4 it does: the new stack is
** made, then the frames are moved onto it.  From 5.4.5 on the frames hold
** offsets meanwhile, and reading them would crash.  Asked of the library
** itself (lua_ident), not of the headers this was built with: a newer
** library of the same soname may be the one loaded. */
static int frames_readable_in_new_vectors(void) {
  const char *v = strstr(lua_ident, "Lua 5.4.");
  return v != NULL && v[8] >= '0' && v[8] <= '4' &&
         !(v[9] >= '0' && v[9] <= '9');
}

/* Where the plugin is when an allocation is refused: into out (left ""
** when the stack cannot be read, see refuse), or, out NULL, into the
** call's failure record (the first place wins). */
static void note_refusal(sandbox *sb, int object, char *out, size_t n) {
  int readable =
      sb->running != NULL && (object || frames_readable_in_new_vectors());
  if (out == NULL) {
    if (readable) budget_note_where(sb, sb->running);
    return;
  }
  out[0] = '\0';
  if (readable) budget_where(sb->running, out, n);
}

/* Whether the instruction budget cannot pay for a collection costing
** `cost`: the refusal is then final at once, a memory stop (the plugin's
** heap is what does not fit) rather than a CPU stop. */
static int unaffordable(const sandbox *sb, long long cost) {
  return sb->config.instruction_limit > 0 &&
         cost >= sb->config.instruction_limit - sb->charged;
}

/* The call stops for memory: every later growth in it is refused. */
static void stop_for_memory(sandbox *sb) {
  sb->refusal = SANDBOX_REFUSAL_FINAL;
  budget_stop(sb, sb->running, SANDBOX_STOP_MEM);
}

/* Refuses an allocation.  In a call, the first refusal is soft (see the
** header): it keeps what Lua asked for, to know the second try, and where
** the plugin is; a later one is final and stops the call, noting where
** the plugin is, since the refusal raises an ordinary error and, caught
** by a pcall, the hook would fire wherever the code went on (a spec
** test's memory error was said at the test runner's line).
** `object`: the allocation is a Lua object (a new one's type tag, osize,
** is not 0) or a resize; the stack is always readable then.  A new vector
** (no tag: a table's hash part, a string buffer, a new stack) only with a
** library that keeps frames readable meanwhile.  The line is exact in
** instruction mode; in deadline mode, where no hook saves the position
** before each instruction, making a table may be said at the line of the
** function making it (Lua saves the position lazily there). */
static NOINLINE void *refuse(sandbox *sb, int object, void *ptr, size_t osize,
                             size_t nsize) {
  sandbox_failure *f;
  long long cost = SANDBOX_COLLECTION_COST(sb);
  if (!sb->in_call || sb->refusal == SANDBOX_REFUSAL_FINAL) return NULL;
  if (sb->refusal == SANDBOX_REFUSAL_NONE && !unaffordable(sb, cost)) {
    sb->refusal = SANDBOX_REFUSAL_SOFT;
    sb->first_try.ptr = ptr;
    sb->first_try.osize = osize;
    sb->first_try.nsize = nsize;
    if ((f = sandbox_failure_of(sb)) != NULL)
      note_refusal(sb, object, f->refused_at, sizeof f->refused_at);
    budget_owe(sb, cost);
    return NULL;
  }
  stop_for_memory(sb);
  note_refusal(sb, object, NULL, 0);
  return NULL;
}

void sandbox_refusal_final(sandbox *sb) {
  sandbox_failure *f = sb->failure;
  stop_for_memory(sb);
  if (f != NULL && f->refused_at[0] != '\0' && f->where[0] == '\0')
    memcpy(f->where, f->refused_at, sizeof f->where);
}

void sandbox_make_room(lua_State *L, size_t bytes) {
  sandbox *sb = sandbox_of(L);
  size_t limit = sb->config.memory_limit;
  if (!sb->in_call || sb->refusal >= SANDBOX_REFUSAL_SOFT || sb->used > limit)
    return;
  if (bytes <= limit - sb->used || bytes > limit) return;  /* fits, or never */
  budget_charge(L, SANDBOX_COLLECTION_COST(sb));
  lua_gc(L, LUA_GCCOLLECT);
  sandbox_fit_collector(L, sb->used);
}

/* A cycle begins once the heap has grown to `pause` percent of what the
** last one left live, and runs while the plugin allocates on; begun by
** seven eighths of the limit, it ends before the limit (measured, see
** the header).  The collector's work is not charged, and per byte
** allocated it grows as 1 / (pause / 100 - 1): at Lua's default, 200, a
** cycle per live heap allocated; at 124, about four; at 100 a cycle per
** allocation once cycles get short (a loop that took 0.2 s at 200 took
** 39 s at 100).  So 124 is the least: a plugin whose heap does not fit
** under that keeps meeting the limit, and pays for its emergency
** collections.  Lua keeps the pause in steps of 4.  Called outside the
** allocator: Lua's collector may be the one allocating. */
#define LUA_DEFAULT_PAUSE 200
#define LEAST_PAUSE 124
void sandbox_fit_collector(lua_State *L, size_t live) {
  sandbox *sb = sandbox_of(L);
  size_t start = sb->config.memory_limit - sb->config.memory_limit / 8;
  size_t pause = LUA_DEFAULT_PAUSE;
  if (live > 0 && start / live < 2)
    pause = (size_t)((double)start / (double)live * 100) / 4 * 4;
  if (pause < LEAST_PAUSE) pause = LEAST_PAUSE;
  lua_gc(L, LUA_GCINC, (int)pause, 0, 0);
}

/* Whether growing the count by `more` bytes stays within the limit (the
** slack counts only outside plugin calls); while a soft refusal awaits
** its second try, and after a final one, nothing fits here (see
** grow_refused). */
static int fits(const sandbox *sb, size_t more) {
  size_t limit = sb->config.memory_limit + (sb->in_call ? 0 : SANDBOX_SLACK);
  return sb->refusal < SANDBOX_REFUSAL_SOFT && sb->used <= limit &&
         more <= limit - sb->used;
}

/* A growth of `more` bytes that fits() turned down: Lua's second try
** after a soft refusal (the same block asked for again) goes ahead when
** it fits now; any other growth meanwhile makes the soft refusal final;
** the rest is refused.  Returns whether the growth is refused.  Out of
** the allocator's fast path: a soft refusal costs it nothing. */
static NOINLINE int grow_refused(sandbox *sb, int object, void *ptr,
                                 size_t osize, size_t nsize, size_t more) {
  if (sb->refusal == SANDBOX_REFUSAL_SOFT) {
    if (ptr != sb->first_try.ptr || osize != sb->first_try.osize ||
        nsize != sb->first_try.nsize) {
      sandbox_refusal_final(sb);
      return 1;
    }
    sb->refusal = SANDBOX_REFUSAL_RETRIED;
    sb->first_try.live = sb->used;  /* the hook fits the collector to it */
    if (fits(sb, more)) return 0;
  }
  refuse(sb, object, ptr, osize, nsize);
  return 1;
}

static void *counted(sandbox *sb, void *p, size_t osize, size_t nsize) {
  sb->used = sb->used - osize + nsize;
  if (sb->used > sb->peak) sb->peak = sb->used;
  return p;
}

/* ---- the arena ---- */

/* Size of the next chunk, 0 when the arena may not grow by one. */
static size_t next_chunk_size(const sandbox *sb) {
  size_t limit = sb->config.memory_limit;
  size_t cap = limit > SIZE_MAX - SANDBOX_SLACK ? SIZE_MAX
             : limit + SANDBOX_SLACK;
  size_t big = cap / (ARENA_MAX_CHUNKS - 16);
  size_t size;
  if (big < ARENA_BIG_CHUNK) big = ARENA_BIG_CHUNK;
  if (sb->arena.chunks == NULL) size = ARENA_FIRST_CHUNK;
  else {
    size = sb->arena.chunks->h.size * 2;
    if (size > big) size = big;
  }
  if (sb->arena.bytes >= cap) return 0;
  if (size > cap - sb->arena.bytes) size = cap - sb->arena.bytes;
  return size >= sizeof(arena_chunk) + (SANDBOX_SMALL_MAX * 4) ? size : 0;
}

/* A block of class c from fresh space: the newest chunk's uncarved end, a
** new chunk, or once the arena is full, malloc. */
static NOINLINE void *carve(sandbox *sb, unsigned c) {
  size_t bytes = CLASS_BYTES(c);
  char *p;
  if ((size_t)(sb->arena.end - sb->arena.next) < bytes) {
    size_t size = sb->arena.full ? 0 : next_chunk_size(sb);
    arena_chunk *chunk = size ? malloc(size) : NULL;
    if (chunk == NULL) {
      sb->arena.full = 1;
      return malloc(bytes);  /* the whole class: resizes within it stay */
    }
    chunk->h.next = sb->arena.chunks;
    chunk->h.size = size;
    sb->arena.chunks = chunk;
    sb->arena.bytes += size;
    /* The tail of the old chunk, smaller than this class, stays unused:
    ** at most 255 bytes per chunk. */
    sb->arena.next = (char *)(chunk + 1);
    sb->arena.end = (char *)chunk + size;
    HIDE(sb->arena.next, (size_t)(sb->arena.end - sb->arena.next));
  }
  p = sb->arena.next;
  sb->arena.next += bytes;
  return p;
}

/* A block for n small bytes; NULL when the host is out of memory. */
static inline void *small_get(sandbox *sb, size_t n) {
  unsigned c = CLASS_OF(n);
  void *p = sb->arena.free[c];
  if (p == NULL) {
    p = carve(sb, c);
  } else {
    SHOW_LINK(p);  /* the free list's link, written when it was freed */
    sb->arena.free[c] = *(void **)p;
    HIDE(p, sizeof(void *));
  }
  if (p != NULL) SHOW(p, n);
  return p;
}

/* Puts a block of class c on its free list. */
static inline void push_free(sandbox *sb, void *p, unsigned c) {
  SHOW_LINK(p);  /* a block of fewer bytes than a link showed only those */
  *(void **)p = sb->arena.free[c];
  sb->arena.free[c] = p;
  HIDE(p, CLASS_BYTES(c));
}

static int in_arena(const sandbox *sb, const void *p) {
  const arena_chunk *chunk;
  for (chunk = sb->arena.chunks; chunk != NULL; chunk = chunk->h.next) {
    const char *base = (const char *)chunk;
    /* Compared as integers: the block may be from another allocation. */
    if ((uintptr_t)p >= (uintptr_t)base &&
        (uintptr_t)p < (uintptr_t)base + chunk->h.size)
      return 1;
  }
  return 0;
}

static NOINLINE void put_outside(sandbox *sb, void *p, unsigned c);

/* Gives back a block Lua knew as n small bytes. */
static inline void small_put(sandbox *sb, void *p, size_t n) {
  unsigned c = CLASS_OF(n);
  if (sb->arena.full) {
    put_outside(sb, p, c);
    return;
  }
  push_free(sb, p, c);
}

static NOINLINE void put_outside(sandbox *sb, void *p, unsigned c) {
  if (!in_arena(sb, p)) {
    free(p);
    return;
  }
  push_free(sb, p, c);
}

void sandbox_arena_free(sandbox *sb) {
  arena_chunk *chunk = sb->arena.chunks;
  while (chunk != NULL) {
    arena_chunk *next = chunk->h.next;
    SHOW(chunk, chunk->h.size);
    free(chunk);
    chunk = next;
  }
  memset(&sb->arena, 0, sizeof sb->arena);
}

/* ---- the allocator Lua calls ---- */

/* A new object (tag: its Lua type, 0 for a vector). */
static NOINLINE void *fresh(sandbox *sb, size_t tag, size_t nsize) {
  void *p;
  if (!fits(sb, nsize) && grow_refused(sb, tag != 0, NULL, tag, nsize, nsize))
    return NULL;
  p = nsize <= SANDBOX_SMALL_MAX ? small_get(sb, nsize) : malloc(nsize);
  if (p == NULL) return refuse(sb, tag != 0, NULL, tag, nsize);
  return counted(sb, p, 0, nsize);
}

/* A resize that moves the block between the arena's classes or between
** the arena and malloc. */
static NOINLINE void *moved(sandbox *sb, void *ptr, size_t osize,
                            size_t nsize) {
  void *p = nsize <= SANDBOX_SMALL_MAX ? small_get(sb, nsize) : malloc(nsize);
  if (p == NULL) {
    if (nsize > osize) return refuse(sb, 1, ptr, osize, nsize);
    /* Lua assumes a shrink cannot fail: keep the larger block.  small_get
    ** failed, so the arena is full, and a freed block that is not in it
    ** goes back to malloc (the only kind of block it can be here). */
    return counted(sb, ptr, osize, nsize);
  }
  memcpy(p, ptr, osize < nsize ? osize : nsize);
  if (osize <= SANDBOX_SMALL_MAX) small_put(sb, ptr, osize);
  else free(ptr);
  return counted(sb, p, osize, nsize);
}

static NOINLINE void *resize(sandbox *sb, void *ptr, size_t osize,
                             size_t nsize) {
  void *p;
  if (nsize > osize && !fits(sb, nsize - osize) &&
      grow_refused(sb, 1, ptr, osize, nsize, nsize - osize))
    return NULL;
  if (osize <= SANDBOX_SMALL_MAX || nsize <= SANDBOX_SMALL_MAX) {
    if (osize > SANDBOX_SMALL_MAX || nsize > SANDBOX_SMALL_MAX ||
        CLASS_OF(osize) != CLASS_OF(nsize))
      return moved(sb, ptr, osize, nsize);
    /* The class has room. */
    if (nsize > osize) SHOW((char *)ptr + osize, nsize - osize);
    else HIDE((char *)ptr + nsize, osize - nsize);
    return counted(sb, ptr, osize, nsize);
  }
  p = realloc(ptr, nsize);
  if (p == NULL) {
    /* Lua assumes a shrink cannot fail: keep the larger block. */
    return nsize <= osize ? ptr : refuse(sb, 1, ptr, osize, nsize);
  }
  return counted(sb, p, osize, nsize);
}

void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  sandbox *sb = ud;
  if (nsize != 0) {
    /* With ptr NULL, osize tells the object type, not a size. */
    return ptr == NULL ? fresh(sb, osize, nsize)
                       : resize(sb, ptr, osize, nsize);
  }
  if (ptr != NULL) {
    sb->used -= osize;
    if (osize <= SANDBOX_SMALL_MAX) small_put(sb, ptr, osize);
    else free(ptr);
  }
  return NULL;
}
