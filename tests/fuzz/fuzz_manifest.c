/*
** fuzz_manifest.c -- plugin.yaml parsing (manifest_parse, over libyaml
** and the bounded YAML tree) on untrusted text, plus the size, count and
** time parsers on the same text as one string.
**
** Properties: a failure writes a one-line message naming the file and
** leaves *out NULL; an accepted manifest has the fields it promises (a
** name, a semantic version, a main file, a capabilities value).
*/
#include <stdlib.h>
#include <string.h>

#include "engine/manifest.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static void warned(void *ud, const char *message) {
  (void)ud;
  if (message == NULL || strchr(message, '\n') != NULL)
    fuzz_fail("a warning is not one line");
}

static void units(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  size_t bytes;
  long long n;
  if (s == NULL) return;
  memcpy(s, data, size);
  s[size] = '\0';
  (void)lplug_parse_size(s, &bytes);
  if (lplug_parse_count(s, &n) && n <= 0) fuzz_fail("count not > 0");
  if (manifest_parse_time(s, &n) && n <= 0) fuzz_fail("time not > 0");
  (void)manifest_is_semver(s);
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  manifest *m = NULL;
  char err[512];
  int rc;
  units(data, size);
  err[0] = '\0';
  rc = manifest_parse((const char *)data, size, "fuzz/plugin.yaml", &m, err,
                      sizeof err, warned, NULL);
  if (rc != LPLUG_OK) {
    if (m != NULL) fuzz_fail("*out set on failure");
    if (memchr(err, '\0', sizeof err) == NULL ||
        strncmp(err, "fuzz/plugin.yaml", 16) != 0)
      fuzz_fail("message does not name the file");
    return 0;
  }
  if (m->name == NULL || m->version == NULL || m->main == NULL ||
      m->capabilities == NULL || m->config == NULL)
    fuzz_fail("accepted manifest misses a field");
  if (!manifest_is_semver(m->version)) fuzz_fail("version not semantic");
  manifest_free(m);
  return 0;
}
