/*
** caps.h -- reading capability tables: a plugin's `capabilities:` (what it
** declares) and a host's `grants:` entries (what it grants) have the same
** shape, so one set of rules reads both:
**
**   hooks: [record, "alert.*"]        items: names or patterns
**   events: { emit: ["counter.*"] }   dotted names look inside: events.emit
**   log: {}                           a capability with no item list
**   hooks: true / hooks: "*"          every item
*/
#ifndef LPLUG_CAPS_H
#define LPLUG_CAPS_H

#include <stddef.h>
#include "lplug.h"

/* Whether the table at `at` of caps holds `cap` (dotted: "events.emit")
** and, when item is not NULL, lets `item` through: an entry of its list
** that is the item or a pattern matching it, or `true`/"*" for all.  An
** empty list lets nothing through. */
int caps_allows(const lplug_value *caps, size_t at, const char *cap,
                const char *item);

/* Whether the table at `at` mentions `cap` at all, even as false or an
** empty list: a plugin's own grant entry then decides that capability. */
int caps_names(const lplug_value *caps, size_t at, const char *cap);

/* Writes the items listed under `cap` as "a, b" into out ("" if none). */
void caps_list(const lplug_value *caps, size_t at, const char *cap, char *out,
               size_t n);

#endif
