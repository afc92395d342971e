/*
** value.h -- the value codec: one compact encoding for every value that
** leaves a Lua state (hook arguments and results now; events and storage
** later).  value.c owns the buffer, the builder, the reader and the
** validator; value_lua.c moves values between the encoding and a Lua
** stack; json.c converts JSON text.
**
** Encoding (little endian; every value starts with a tag byte):
**   0x00 nil          0x01 false          0x02 true
**   0x03 integer      zigzag varint
**   0x04 float        8 bytes IEEE 754 binary64
**   0x05 string       varint length, the bytes, one 0x00 (so C can read
**                     it in place as a NUL-terminated string)
**   0x06 table        4-byte length of what follows, varint narr, varint
**                     nhash, narr values (keys 1..narr), then nhash
**                     key/value pairs.  Keys are never nil, NaN or tables,
**                     and no key is there twice as Lua sees keys: 1, 1.0
**                     and array index 1 are one key (an entry whose value
**                     is nil is absent and clashes with nothing).
**   0x80..0xff        integer 0..127 in the tag itself
** Tables nest at most LPLUG_MAX_DEPTH levels.
*/
#ifndef LPLUG_VALUE_H
#define LPLUG_VALUE_H

#include <stddef.h>
#include "lplug.h"

enum {
  VALUE_NIL = 0x00, VALUE_FALSE = 0x01, VALUE_TRUE = 0x02,
  VALUE_INT = 0x03, VALUE_FLOAT = 0x04, VALUE_STRING = 0x05,
  VALUE_TABLE = 0x06, VALUE_SMALLINT = 0x80
};

/* A value is its encoded bytes.  An empty buffer (len 0) never escapes:
** lplug_value_new() stores the nil tag. */
struct lplug_value {
  unsigned char *bytes;
  size_t len, cap;
};

/* Makes room for `extra` more bytes; LPLUG_OK or LPLUG_ENOMEM. */
int value_reserve(lplug_value *v, size_t extra);

/* The most bytes an encoded integer takes: its tag and a varint of 64
** bits. */
#define VALUE_INTEGER_MAX 11

/* Writes the encoding of the integer x at p (room for VALUE_INTEGER_MAX
** bytes) and returns its length: for a caller that keeps the value
** somewhere else than in an lplug_value. */
size_t value_encode_integer(unsigned char *p, long long x);

/* Sets v to the integer x; LPLUG_OK or LPLUG_ENOMEM (v is then nil or
** empty: set it again before use).  Integers 0..127 in a value that has a
** buffer are stored inline: a hook's integer result is one of those on
** most calls, and the call into value.c cost 16 of 899 Ir in hook_int. */
int value_set_any_integer(lplug_value *v, long long x);
static inline int value_set_integer(lplug_value *v, long long x) {
  if (x >= 0 && x < 128 && v->cap > 0) {
    v->bytes[0] = (unsigned char)(VALUE_SMALLINT | x);
    v->len = 1;
    return LPLUG_OK;
  }
  return value_set_any_integer(v, x);
}

/* Exchanges the contents of two values (no allocation). */
void value_swap(lplug_value *a, lplug_value *b);

/* The most buffer a value reused for many values (a plugin's or the
** engine's scratch) keeps between them.  Each plugin's scratch grows up to
** its value limit (4x its memory limit) for one big value; kept, twenty
** plugins that once tried a 64 MB json.encode held 332 MB of host memory
** for good.  Small buffers stay, so the common small values allocate
** nothing. */
#define VALUE_KEEP (64 * 1024)

/* Sets v to nil; keeps its buffer unless that is over VALUE_KEEP bytes. */
void value_set_nil(lplug_value *v);

/* Gives back the room of a buffer over VALUE_KEEP bytes that the value
** does not use (v's bytes stay as they are): for a value reused after a
** big one was refused or handed on. */
void value_trim(lplug_value *v);

/* Frees the buffer of a value that lives inside another struct. */
void value_release(lplug_value *v);

/* Checks that [p, p+n) is exactly one well-formed value; LPLUG_OK,
** LPLUG_EPARSE or LPLUG_ENOMEM (finding a key held twice in a big table
** sorts its keys). */
int value_check(const unsigned char *p, size_t n);

#endif
