/*
** grow.h -- room for one more element in a growing array.
*/
#ifndef LPLUG_GROW_H
#define LPLUG_GROW_H

#include <stddef.h>

/* Makes room for element n of the array *listp (a pointer to the array's
** pointer) of *cap elements of `size` bytes: doubles it, or allocates
** `first` elements when empty.  Returns 1, or 0 when out of memory (the
** array is then unchanged). */
int grow(void *listp, int *cap, int n, size_t size, int first);

#endif
