/*
** json.h -- JSON text to and from encoded values (RFC 8259).
*/
#ifndef LPLUG_JSON_H
#define LPLUG_JSON_H

#include "value.h"

/* Parses `json` into `out` (replacing what it held).  On LPLUG_EPARSE
** writes "line L, column C: what was expected" into err.  Nesting past
** LPLUG_MAX_DEPTH is a parse error.  Returns LPLUG_OK, LPLUG_EPARSE or
** LPLUG_ENOMEM; on failure `out` is unchanged. */
int json_decode(const char *json, size_t len, lplug_value *out, char *err,
                size_t errsize);

/* JSON text for the value at `at`, NUL-terminated, malloc'd (the caller
** frees), of at most max bytes; NULL when out of memory (*len 0) or when
** it would be longer (*len > max: it stopped there, having allocated
** about max). */
char *json_encode(const lplug_value *v, size_t at, size_t max,
                  size_t *len);

#endif
