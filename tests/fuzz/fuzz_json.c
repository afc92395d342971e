/*
** fuzz_json.c -- JSON text to values (lplug_value_from_json) on untrusted
** text.
**
** Properties: a failure leaves *out NULL and a message naming line and
** column; what parses encodes to text that parses again, and encoding
** that second value gives the same text (one round settles what JSON
** cannot keep: integer keys become strings, holes become null).
*/
#include <stdlib.h>
#include <string.h>

#include "lplug.h"
#include "tests/fuzz/fuzz.h"

static lplug_engine *engine;

static void free_engine(void) { lplug_engine_free(engine); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  atexit(free_engine);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lplug_value *v = NULL, *v2 = NULL, *v3 = NULL;
  char *t1, *t2, *t3;
  size_t n1, n2, n3;
  int rc;
  /* An engine keeps the message: the path that formats it runs too. */
  if (engine == NULL && (engine = lplug_engine_new(NULL)) == NULL)
    fuzz_fail("no engine");
  rc = lplug_value_from_json(engine, (const char *)data, size, &v);
  if (rc != LPLUG_OK) {
    if (v != NULL) fuzz_fail("*out set on failure");
    if (rc == LPLUG_EPARSE && strstr(lplug_errmsg(engine), "line ") == NULL)
      fuzz_fail("parse error without a line");
    return 0;
  }
  t1 = lplug_value_to_json(v, &n1);
  if (t1 == NULL) fuzz_fail("to_json failed");
  if (strlen(t1) != n1) fuzz_fail("text length wrong, or a raw NUL in it");
  if (lplug_value_from_json(NULL, t1, n1, &v2) != LPLUG_OK)
    fuzz_fail("encoded text does not parse");
  t2 = lplug_value_to_json(v2, &n2);
  if (lplug_value_from_json(NULL, t2, n2, &v3) != LPLUG_OK)
    fuzz_fail("encoded text does not parse (second round)");
  t3 = lplug_value_to_json(v3, &n3);
  if (t2 == NULL || t3 == NULL || n2 != n3 || memcmp(t2, t3, n2) != 0)
    fuzz_fail("encoding is not settled after one round");
  lplug_free(t1);
  lplug_free(t2);
  lplug_free(t3);
  lplug_value_free(v);
  lplug_value_free(v2);
  lplug_value_free(v3);
  return 0;
}
