/*
** fuzz_plugin.c -- a generated Lua program loaded as a plugin with every
** capability, its handlers run under tight limits (256 KB, 50K
** instructions per call).
**
** Each input is the plugin's init.lua.  The plugin is loaded into a fresh
** engine; then hook "t" (fail-closed) runs over a record, events are
** delivered, the plugin is reloaded from the same files (save/restore),
** hooks "t", "u" and "record" run again and the engine is freed.  Whatever the
** program does, the host must come back from every call with a code, a
** value it can read, and no memory error.
**
** Properties: a run's code is OK or a plugin failure code; the value
** after a run reads back as JSON; the plugin's memory never exceeds its
** limit plus the engine's slack.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lplug.h"
#include "tests/fuzz/fuzz.h"

#define MEMORY (256 * 1024)
#define SLACK (16 * 1024)      /* SANDBOX_SLACK, see docs/security.md */

static char dir[4096], main_path[4200], yaml_path[4200];

static const char manifest[] =
    "name: fuzz\n"
    "version: 1.0.0\n"
    "capabilities:\n"
    "  hooks: [t, u, record]\n"
    "  events: { emit: ['*'], on: ['*'] }\n"
    "  storage: { quota: 64KB }\n"
    "  log: {}\n"
    "  json: {}\n"
    "  time: {}\n"
    "  config: {}\n"
    "config:\n"
    "  level: { type: string, default: info }\n";

static const char record[] =
    "{\"line\":\"a b@c.d\",\"n\":1,\"tags\":[1,2.5,true]}";

/* LPLUG_FUZZ_VERBOSE=1 prints each failure: to see what a seed reaches. */
static int verbose;

static void cleanup(void) {
  unlink(main_path);
  unlink(yaml_path);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *base = getenv("TMPDIR");
  FILE *f;
  (void)argc;
  (void)argv;
  snprintf(dir, sizeof dir, "%s/lplug-fuzz-XXXXXX", base ? base : "/tmp");
  if (mkdtemp(dir) == NULL) fuzz_fail("mkdtemp");
  snprintf(main_path, sizeof main_path, "%s/init.lua", dir);
  snprintf(yaml_path, sizeof yaml_path, "%s/plugin.yaml", dir);
  f = fopen(yaml_path, "wb");
  if (f == NULL || fputs(manifest, f) < 0 || fclose(f) != 0)
    fuzz_fail("cannot write plugin.yaml");
  atexit(cleanup);
  verbose = getenv("LPLUG_FUZZ_VERBOSE") != NULL;
  return 0;
}

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  (void)ud;
  (void)plugin;
  (void)traceback;
  if (verbose) fprintf(stderr, "%s: %s\n", lplug_errname(code), message);
}

static int failure(int rc) {
  return rc == LPLUG_ERUNTIME || rc == LPLUG_ECPU || rc == LPLUG_EMEM ||
         rc == LPLUG_EVALUE || rc == LPLUG_EDENIED || rc == LPLUG_ESTATE;
}

static void check_run(lplug_engine *e, const char *hook, lplug_value *v) {
  char *json;
  lplug_stats st;
  int rc = lplug_hook_run(e, hook, v);
  if (rc != LPLUG_OK && !failure(rc)) {
    fprintf(stderr, "%s: %s\n", lplug_errname(rc), lplug_errmsg(e));
    fuzz_fail("hook run returned an unexpected code");
  }
  /* Refused only for what JSON cannot hold (NaN, infinities, strings
  ** not UTF-8, keys 1 and "1"): errno EINVAL, never ENOMEM here. */
  errno = 0;
  if ((json = lplug_value_to_json(v, NULL)) == NULL && errno != EINVAL)
    fuzz_fail("result does not read as JSON");
  lplug_free(json);
  if (lplug_plugin_stats(e, "fuzz", &st) == LPLUG_OK &&
      st.memory_peak > st.memory_limit + SLACK)
    fuzz_fail("plugin memory passed its limit");
}

static void on_event(void *ud, const char *topic, const lplug_value *payload,
                     const char *source) {
  (void)ud;
  (void)source;
  if (topic == NULL || payload == NULL) fuzz_fail("event without topic");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lplug_config config = {0};
  lplug_engine *e;
  lplug_value *v = NULL;
  FILE *f = fopen(main_path, "wb");
  int rc;
  if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
    fuzz_fail("cannot write init.lua");
  config.memory_limit = MEMORY;
  config.instruction_limit = 50000;
  config.grant = lplug_grant_declared;
  config.on_error = on_error;
  config.event_queue = 64;
  config.event_queue_bytes = 64 * 1024;
  config.storage_quota = 64 * 1024;
  if ((e = lplug_engine_new(&config)) == NULL) fuzz_fail("no engine");
  lplug_hook_define(e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(e, "u", 0, NULL);
  lplug_hook_define(e, "record", 0, NULL);   /* the example plugins' */
  lplug_event_subscribe(e, "*", on_event, NULL);
  rc = lplug_load_plugin(e, dir);
  if (verbose) fprintf(stderr, "load: %s %s\n", lplug_errname(rc),
                       lplug_errmsg(e));
  if (rc != LPLUG_OK) {
    if (!failure(rc) && rc != LPLUG_ELOAD) {
      fprintf(stderr, "%s: %s\n", lplug_errname(rc), lplug_errmsg(e));
      fuzz_fail("load returned an unexpected code");
    }
    if (lplug_plugin_count(e) != 0) fuzz_fail("a failed load left a plugin");
    lplug_engine_free(e);
    return 0;
  }
  if (lplug_value_from_json(NULL, record, strlen(record), &v) != LPLUG_OK)
    fuzz_fail("record");
  check_run(e, "t", v);
  lplug_dispatch(e, 0);
  rc = lplug_reload(e, "fuzz");
  if (rc != LPLUG_OK && !failure(rc) && rc != LPLUG_ELOAD) {
    fprintf(stderr, "%s: %s\n", lplug_errname(rc), lplug_errmsg(e));
    fuzz_fail("reload returned an unexpected code");
  }
  check_run(e, "t", v);
  check_run(e, "u", v);
  check_run(e, "record", v);
  lplug_dispatch(e, 0);
  lplug_value_free(v);
  lplug_engine_free(e);
  return 0;
}
