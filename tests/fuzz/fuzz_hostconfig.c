/*
** fuzz_hostconfig.c -- the host settings file (lplug_host_load) on
** untrusted text, then every reader of what it accepted.
**
** lplug_host_load reads a file, so each input is written to one file in
** a private temporary folder first (the public entry point is what a
** host calls; no test-only parser to keep in step with it).
**
** Properties: a failure writes a message naming the file and leaves
** *out NULL; what is accepted configures an engine config and answers
** grant questions without touching anything out of its bounds.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lplug.h"
#include "tests/fuzz/fuzz.h"

static char dir[4096], path[4200];

static void cleanup(void) {
  unlink(path);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *base = getenv("TMPDIR");
  (void)argc;
  (void)argv;
  snprintf(dir, sizeof dir, "%s/lplug-fuzz-XXXXXX", base ? base : "/tmp");
  if (mkdtemp(dir) == NULL) fuzz_fail("mkdtemp");
  snprintf(path, sizeof path, "%s/lplug.yaml", dir);
  atexit(cleanup);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const caps[] = {"hooks", "events.emit", "events.on",
                                     "storage", "log", "json", "time",
                                     "config"};
  lplug_host *h = NULL;
  lplug_config config;
  char err[512];
  size_t i;
  int rc, d;
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
    fuzz_fail("cannot write the input file");
  err[0] = '\0';
  rc = lplug_host_load(path, &h, err, sizeof err);
  if (rc != LPLUG_OK) {
    if (h != NULL) fuzz_fail("*out set on failure");
    if (memchr(err, '\0', sizeof err) == NULL || strstr(err, path) == NULL)
      fuzz_fail("message does not name the file");
    return 0;
  }
  memset(&config, 0, sizeof config);
  lplug_host_configure(h, &config);
  for (i = 0; i < sizeof caps / sizeof *caps; i++) {
    (void)lplug_host_grant(h, "p", caps[i], NULL);
    (void)lplug_host_grant(h, "p", caps[i], "record");
    (void)lplug_host_grant(h, "counter", caps[i], "counter.tick");
  }
  for (d = 0; d < lplug_host_plugin_dirs(h); d++)
    if (lplug_host_plugin_dir(h, d) == NULL) fuzz_fail("missing folder");
  (void)lplug_host_fail_closed(h);
  /* The config: entries go to an engine as lplug_plugin_configure. */
  {
    lplug_engine *e = lplug_engine_new(&config);
    if (e == NULL) fuzz_fail("no engine");
    rc = lplug_host_apply_config(h, e);
    if (rc != LPLUG_OK && lplug_errmsg(e)[0] == '\0')
      fuzz_fail("apply_config failed without a message");
    lplug_engine_free(e);
  }
  lplug_host_free(h);
  return 0;
}
