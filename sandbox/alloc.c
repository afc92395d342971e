/*
** alloc.c -- the limiting allocator every plugin state is made with.
**
** Counts the bytes Lua asks for (not malloc's overhead) against the
** plugin's memory limit.  Inside a plugin call the limit is exact; outside
** one the engine may use SANDBOX_SLACK more for its own pushes.
**
** Attack: Lua runs a full emergency collection for every refused
** allocation, so a plugin retrying in pcall could burn seconds per call.
** The first refusal in a call therefore stops the call (budget_stop): the
** count hook fires on the next instruction and raises again on every
** instruction until the call unwinds, and every later growth in the same
** call is refused without asking.
*/
#include <stdlib.h>

#include "sandbox/sandbox.h"

/* Freeing, new objects and resizes are separate paths so that each saves
** only the registers it needs: as one function GCC saved five on every
** call, and a new state makes about 500 calls (the allocator's own cost
** per state went from 18 K to 13 K instructions).  noinline keeps GCC
** from merging them again. */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

static NOINLINE void *refuse(sandbox *sb) {
  if (sb->in_call && !sb->refused) {
    sb->refused = 1;
    budget_stop(sb, sb->running, SANDBOX_STOP_MEM);
  }
  return NULL;
}

/* Whether growing the count by `more` bytes stays within the limit (the
** slack counts only outside plugin calls); after a refusal in a call,
** nothing more fits until the call ends. */
static int fits(const sandbox *sb, size_t more) {
  size_t limit = sb->config.memory_limit + (sb->in_call ? 0 : SANDBOX_SLACK);
  return !sb->refused && sb->used <= limit && more <= limit - sb->used;
}

static void *counted(sandbox *sb, void *p, size_t osize, size_t nsize) {
  sb->used = sb->used - osize + nsize;
  if (sb->used > sb->peak) sb->peak = sb->used;
  return p;
}

/* A new object: malloc directly, realloc(NULL, n) costs a quarter more. */
static NOINLINE void *fresh(sandbox *sb, size_t nsize) {
  void *p;
  if (!fits(sb, nsize) || (p = malloc(nsize)) == NULL) return refuse(sb);
  return counted(sb, p, 0, nsize);
}

static NOINLINE void *resize(sandbox *sb, void *ptr, size_t osize,
                             size_t nsize) {
  void *p;
  if (nsize > osize && !fits(sb, nsize - osize)) return refuse(sb);
  p = realloc(ptr, nsize);
  if (p == NULL) {
    /* Lua assumes a shrink cannot fail: keep the larger block. */
    return nsize <= osize ? ptr : refuse(sb);
  }
  return counted(sb, p, osize, nsize);
}

void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  sandbox *sb = ud;
  if (nsize != 0) {
    /* With ptr NULL, osize tells the object type, not a size. */
    return ptr == NULL ? fresh(sb, nsize) : resize(sb, ptr, osize, nsize);
  }
  if (ptr != NULL) {
    sb->used -= osize;
    free(ptr);
  }
  return NULL;
}
