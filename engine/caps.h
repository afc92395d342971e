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
#include "engine/yaml_tree.h"

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

/* Called for each problem caps_check finds, at node `at`: a warning (the
** part is ignored), or with `error` set an item that can never match. */
typedef void (*caps_problem_fn)(void *ud, const ytree_node *at, int error,
                                const char *message);

/* Checks a capabilities mapping as written (a manifest's `capabilities:`,
** a host's grants entry) against what lplug has: unknown capabilities and
** keys ("unknown key 'capabilities.storag' (ignored; ...)"), shapes that
** declare nothing (`log:` with no value), and items of hooks, events.emit
** and events.on that no name or topic can match ('a..b', "**", 5).
** `field` starts the paths in messages.  Returns the number of errors. */
int caps_check(const ytree_node *map, const char *field, caps_problem_fn fn,
               void *ud);

#endif
