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

static void *refuse(sandbox *sb) {
  if (sb->in_call && !sb->refused) {
    sb->refused = 1;
    budget_stop(sb, sb->running, SANDBOX_STOP_MEM);
  }
  return NULL;
}

void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  sandbox *sb = ud;
  void *p;
  if (ptr == NULL) osize = 0;  /* osize then tells the object type */
  if (nsize == 0) {
    free(ptr);
    sb->used -= osize;
    return NULL;
  }
  if (nsize > osize) {
    size_t limit = sb->config.memory_limit + (sb->in_call ? 0 : SANDBOX_SLACK);
    if (sb->refused || sb->used > limit || nsize - osize > limit - sb->used)
      return refuse(sb);
  }
  p = realloc(ptr, nsize);
  if (p == NULL) {
    /* Lua assumes a shrink cannot fail: keep the larger block. */
    if (nsize <= osize) return ptr;
    return refuse(sb);
  }
  sb->used = sb->used - osize + nsize;
  if (sb->used > sb->peak) sb->peak = sb->used;
  return p;
}
