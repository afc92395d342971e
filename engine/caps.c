/*
** caps.c -- see caps.h.
*/
#include <stdio.h>
#include <string.h>

#include "engine/caps.h"
#include "engine/internal.h"

/* Position of `cap` inside the table at `at`, or 0 when absent.
** "events.emit" looks up events, then emit inside it; an `events: true`
** (or false, or "*") stands for every part of events. */
static int locate(const lplug_value *caps, size_t at, const char *cap,
                  size_t *out) {
  const char *dot = strchr(cap, '.');
  if (caps == NULL) return 0;
  if (dot != NULL) {
    char head[64];
    size_t n = (size_t)(dot - cap);
    if (n >= sizeof head) return 0;
    memcpy(head, cap, n);
    head[n] = '\0';
    if (!lplug_value_field(caps, at, head, out)) return 0;
    if (lplug_value_type(caps, *out) == LPLUG_TTABLE &&
        !lplug_value_field(caps, *out, dot + 1, out))
      return 0;
  } else if (!lplug_value_field(caps, at, cap, out)) {
    return 0;
  }
  return 1;
}

int caps_names(const lplug_value *caps, size_t at, const char *cap) {
  size_t c;
  return locate(caps, at, cap, &c) && lplug_value_type(caps, c) != LPLUG_TNIL;
}

/* Like locate, but nil and false count as absent. */
static int find(const lplug_value *caps, size_t at, const char *cap,
                size_t *out) {
  if (!locate(caps, at, cap, out)) return 0;
  switch (lplug_value_type(caps, *out)) {
    case LPLUG_TNIL: return 0;
    case LPLUG_TBOOLEAN: return lplug_value_boolean(caps, *out);
    default: return 1;
  }
}

int caps_allows(const lplug_value *caps, size_t at, const char *cap,
                const char *item) {
  size_t c, v;
  if (!find(caps, at, cap, &c)) return 0;
  if (item == NULL) return 1;
  switch (lplug_value_type(caps, c)) {
    case LPLUG_TSTRING:
      return events_match(lplug_value_string(caps, c, NULL), item);
    case LPLUG_TTABLE: {  /* the list's entries; an empty one lets none */
      long long i;
      for (i = 1; lplug_value_index(caps, c, i, &v); i++) {
        const char *s = lplug_value_string(caps, v, NULL);
        if (s && events_match(s, item)) return 1;
      }
      return 0;
    }
    default:
      return 1;  /* `cap: true` */
  }
}

void caps_list(const lplug_value *caps, size_t at, const char *cap, char *out,
               size_t n) {
  size_t c, v, used = 0;
  long long i;
  out[0] = '\0';
  if (!find(caps, at, cap, &c)) return;
  if (lplug_value_type(caps, c) == LPLUG_TSTRING) {
    snprintf(out, n, "%s", lplug_value_string(caps, c, NULL));
    return;
  }
  for (i = 1; lplug_value_index(caps, c, i, &v) && used < n; i++) {
    const char *s = lplug_value_string(caps, v, NULL);
    if (s) used += (size_t)snprintf(out + used, n - used, "%s%s",
                                    used ? ", " : "", s);
  }
}
