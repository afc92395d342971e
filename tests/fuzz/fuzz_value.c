/*
** fuzz_value.c -- the value codec's decoder on untrusted bytes
** (lplug_value_from_bytes, value_check), then every reader over what it
** accepted.
**
** Properties: a value accepted keeps exactly the bytes given; every
** position the iterator hands out reads as a type; a table holds each
** key once, so looking up a key iterated finds the value iterated with
** it; the JSON text of an
** accepted value parses back (the encoder writes what the decoder reads);
** a plugin handed the value (value_lua.c builds it in the plugin's state)
** and returning it gives back a value or a plugin failure code.
*/
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lplug.h"
#include "tests/fuzz/fuzz.h"

static char dir[4096], paths[2][4200];
static lplug_engine *engine;

static void cleanup(void) {
  lplug_engine_free(engine);
  unlink(paths[0]);
  unlink(paths[1]);
  rmdir(dir);
}

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
    fuzz_fail("cannot write the plugin");
}

/* One engine for the whole run, with a plugin returning what it gets. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *base = getenv("TMPDIR");
  lplug_config config = {0};
  (void)argc;
  (void)argv;
  snprintf(dir, sizeof dir, "%s/lplug-fuzz-XXXXXX", base ? base : "/tmp");
  if (mkdtemp(dir) == NULL) fuzz_fail("mkdtemp");
  snprintf(paths[0], sizeof paths[0], "%s/plugin.yaml", dir);
  snprintf(paths[1], sizeof paths[1], "%s/init.lua", dir);
  put(paths[0], "name: echo\nversion: 1.0.0\ncapabilities: { hooks: [t] }\n");
  put(paths[1], "require('lplug.hooks').on('t', function(v) return v end)\n");
  config.memory_limit = 1024 * 1024;
  config.instruction_limit = 100000;
  config.grant = lplug_grant_declared;
  config.failure_limit = -1;
  atexit(cleanup);
  if ((engine = lplug_engine_new(&config)) == NULL ||
      lplug_hook_define(engine, "t", LPLUG_HOOK_FAIL_CLOSED, NULL) !=
          LPLUG_OK ||
      lplug_load_plugin(engine, dir) != LPLUG_OK)
    fuzz_fail("cannot load the echo plugin");
  return 0;
}

/* Reads everything under `at`; returns the number of positions seen. */
static size_t walk(const lplug_value *v, size_t at, int depth) {
  size_t seen = 1, iter = 0, key, val, len, n = 0, pos;
  int ok, type = lplug_value_type(v, at);
  if (depth > LPLUG_MAX_DEPTH + 1) fuzz_fail("deeper than LPLUG_MAX_DEPTH");
  switch (type) {
    case LPLUG_TNIL:
      break;
    case LPLUG_TBOOLEAN:
      (void)lplug_value_boolean(v, at);
      break;
    case LPLUG_TINTEGER:
    case LPLUG_TFLOAT:
      (void)lplug_value_integer(v, at, &ok);
      (void)lplug_value_float(v, at, &ok);
      break;
    case LPLUG_TSTRING: {
      const char *s = lplug_value_string(v, at, &len);
      if (s == NULL || s[len] != '\0') fuzz_fail("string not terminated");
      break;
    }
    case LPLUG_TTABLE:
      while (lplug_value_next(v, at, &iter, &key, &val)) {
        int kt = lplug_value_type(v, key);
        if (kt == LPLUG_TNIL || kt == LPLUG_TTABLE || kt == LPLUG_TNONE)
          fuzz_fail("table key is nil, a table or no position");
        if (kt == LPLUG_TSTRING) {
          const char *k = lplug_value_string(v, key, &len);
          if (strlen(k) == len && !lplug_value_field(v, at, k, &pos))
            fuzz_fail("a string key iterated is not found by field");
          if (strlen(k) == len && pos != val)
            fuzz_fail("a string key is in the table twice");
        } else if (kt == LPLUG_TINTEGER) {
          long long i = lplug_value_integer(v, key, &ok);
          if (!lplug_value_index(v, at, i, &pos))
            fuzz_fail("an integer key iterated is not found by index");
          if (pos != val) fuzz_fail("an integer key is in the table twice");
        }
        seen += walk(v, val, depth + 1);
        n++;
      }
      if (n != lplug_value_count(v, at)) fuzz_fail("count differs from next");
      break;
    default:
      fuzz_fail("position of an accepted value has no type");
  }
  return seen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lplug_value *v, *back = NULL;
  const void *bytes;
  size_t len, jlen;
  char *json;
  int rc = lplug_value_from_bytes(data, size, &v);
  if (rc != LPLUG_OK) {
    if (v != NULL) fuzz_fail("*out set on failure");
    return 0;
  }
  bytes = lplug_value_bytes(v, &len);
  if (len != size || memcmp(bytes, data, size) != 0)
    fuzz_fail("accepted bytes were not kept as they are");
  walk(v, 0, 0);
  errno = 0;
  json = lplug_value_to_json(v, &jlen);
  /* refused: NaN, infinities, strings not UTF-8, keys 1 and "1" */
  if (json == NULL && errno != EINVAL) fuzz_fail("to_json failed");
  if (json && lplug_value_from_json(NULL, json, jlen, &back) != LPLUG_OK)
    fuzz_fail("JSON text of an accepted value does not parse");
  lplug_value_free(back);
  lplug_free(json);
  rc = lplug_hook_run(engine, "t", v);
  if (rc != LPLUG_OK && rc != LPLUG_EMEM && rc != LPLUG_ECPU &&
      rc != LPLUG_EVALUE)
    fuzz_fail("echo plugin failed with an unexpected code");
  walk(v, 0, 0);
  lplug_value_free(v);
  return 0;
}
