/*
** names.c -- the loaded plugins by name: an open-addressing hash table,
** so that finding a plugin (every load checks the name is free and looks
** up its dependencies) costs the same with ten plugins or ten thousand.
*/
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

static unsigned hash(const char *s) {
  unsigned h = 2166136261u;  /* FNV-1a */
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

/* Puts p in a table known to have room and not to hold its name. */
static void put(plugin **slots, unsigned mask, plugin *p) {
  unsigned i = hash(p->name) & mask;
  while (slots[i]) i = (i + 1) & mask;
  slots[i] = p;
}

/* Rebuilds the table from e->plugins, at most half full.  Returns
** LPLUG_OK or LPLUG_ENOMEM (the old table stays). */
static int rebuild(lplug_engine *e, int want) {
  unsigned cap = 16;
  plugin **slots;
  int i;
  while (cap < (unsigned)want * 2) cap *= 2;
  if ((slots = calloc(cap, sizeof *slots)) == NULL) return LPLUG_ENOMEM;
  for (i = 0; i < e->nplugins; i++) put(slots, cap - 1, e->plugins[i]);
  free(e->names);
  e->names = slots;
  e->names_cap = cap;
  return LPLUG_OK;
}

void names_free(lplug_engine *e) {
  free(e->names);
  e->names = NULL;
  e->names_cap = 0;
}

void names_reset(lplug_engine *e) {
  /* Without memory for a table, lookups scan the list: slower, not wrong. */
  if (rebuild(e, e->nplugins) != LPLUG_OK) names_free(e);
}

/* The slot holding p, or -1 (not indexed, or no table). */
static long slot_of(const lplug_engine *e, const plugin *p) {
  unsigned mask, i;
  if (e->names == NULL) return -1;
  mask = e->names_cap - 1;
  for (i = hash(p->name) & mask; e->names[i] != p; i = (i + 1) & mask)
    if (e->names[i] == NULL) return -1;
  return (long)i;
}

void names_remove(lplug_engine *e, const plugin *p) {
  long at = slot_of(e, p);
  unsigned mask = e->names_cap - 1, i, j;
  if (at < 0) return;
  /* Backward-shift deletion: each entry after the hole (up to the next
  ** empty slot) whose home slot is not between the hole and itself moves
  ** into the hole, so no probe sequence is cut short.  A rebuild here, as
  ** before, made unloading n plugins cost n^2 (4 s for 10,000). */
  for (i = j = (unsigned)at;;) {
    unsigned home;
    j = (j + 1) & mask;
    if (e->names[j] == NULL) break;
    home = hash(e->names[j]->name) & mask;
    if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
      e->names[i] = e->names[j];
      i = j;
    }
  }
  e->names[i] = NULL;
}

void names_replace(lplug_engine *e, const plugin *old, plugin *p) {
  long at = slot_of(e, old);
  if (at >= 0) e->names[at] = p;  /* the same name: the same slot */
  else names_reset(e);
}

void names_add(lplug_engine *e, plugin *p) {
  /* p is already in e->plugins, so a rebuild puts it in */
  if ((unsigned)e->nplugins * 2 > e->names_cap) names_reset(e);
  else put(e->names, e->names_cap - 1, p);
}

plugin *engine_find_plugin(const lplug_engine *e, const char *name,
                           int *index) {
  int i;
  if (name == NULL) return NULL;
  if (e->names != NULL) {
    unsigned mask = e->names_cap - 1, k = hash(name) & mask;
    plugin *p;
    while ((p = e->names[k]) != NULL && strcmp(p->name, name) != 0)
      k = (k + 1) & mask;
    if (p == NULL) return NULL;
    if (index == NULL) return p;
    for (i = 0; i < e->nplugins; i++)  /* its index: a pointer compare */
      if (e->plugins[i] == p) {
        *index = i;
        return p;
      }
  }
  for (i = 0; i < e->nplugins; i++)  /* the index, or no table */
    if (strcmp(e->plugins[i]->name, name) == 0) {
      if (index) *index = i;
      return e->plugins[i];
    }
  return NULL;
}
