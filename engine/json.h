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

/* JSON text for the value at `at`, of at most `max` bytes, into *out
** (NUL-terminated, malloc'd: the caller frees) and its length into *len.
** Returns LPLUG_OK; LPLUG_EVALUE when the value holds what JSON cannot
** (NaN, an infinity, a string that is not UTF-8, keys 1 and "1" in one
** table): err then names its path from `root` ("value.a[2] is NaN (...)");
** LPLUG_ENOMEM when out of memory (*len 0) or when the text would be
** longer than max (*len > max: it stopped there, having allocated about
** max).  *out is NULL on failure. */
int json_encode_text(const lplug_value *v, size_t at, size_t max,
                     const char *root, char **out, size_t *len, char *err,
                     size_t errsize);

/* json_encode_text without a message: the text, or NULL with errno
** EINVAL (what JSON cannot hold) or ENOMEM (out of memory, or longer
** than max: then *len > max).  `len` may be NULL. */
char *json_encode(const lplug_value *v, size_t at, size_t max,
                  size_t *len);

#endif
