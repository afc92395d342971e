/*
** grow.c -- room for one more element in a growing array (the engine's
** luaM_growvector): every list of the engine grows the same way.
*/
#include <stdlib.h>
#include <string.h>

#include "engine/grow.h"

int grow(void *listp, int *cap, int n, size_t size, int first) {
  void *list, *more;
  int want;
  if (n < *cap) return 1;
  want = *cap ? *cap * 2 : first;
  if (want <= *cap || (size_t)want > (size_t)-1 / size) return 0;
  memcpy(&list, listp, sizeof list);
  if ((more = realloc(list, (size_t)want * size)) == NULL) return 0;
  memcpy(listp, &more, sizeof more);
  *cap = want;
  return 1;
}
