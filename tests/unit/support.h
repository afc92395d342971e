/*
** support.h -- helpers shared by the cmocka tests: temporary plugin
** folders and an error collector.  Include after cmocka.h.
*/
#ifndef LPLUG_TEST_SUPPORT_H
#define LPLUG_TEST_SUPPORT_H

#include <stddef.h>
#include "lplug.h"

/* A fresh empty folder under $TMPDIR; removed by support_rmtree.  The
** returned path is malloc'd. */
char *support_tmpdir(void);
void support_rmtree(const char *path);

/* Writes `text` to dir/rel (creating folders on the way). */
void support_write(const char *dir, const char *rel, const char *text);

/* Makes folder root/name holding plugin.yaml and init.lua; returns the
** plugin folder (malloc'd).  `yaml` NULL writes a minimal manifest that
** declares the hooks capability. */
char *support_plugin(const char *root, const char *name, const char *yaml,
                     const char *init_lua);

/* Collects what an engine reports. */
typedef struct support_log {
  int errors;              /* on_error calls */
  int last_code;
  char last_plugin[64];
  char last_message[1024];
  char last_traceback[2048];
  int warnings;            /* on_log calls at LPLUG_LOG_WARN */
  char last_warning[512];
  char printed[2048];      /* what plugins printed, concatenated */
  int logs[4];             /* on_log calls by LPLUG_LOG_* level */
  char last_log[512];      /* "plugin: message" of the last on_log */
} support_log;

/* Sets the callbacks of *config to report into *log (and to grant what
** manifests declare); leaves the limits and the rest alone. */
void support_config(support_log *log, lplug_config *config);

/* An engine reporting into *log, with the given limits (0: defaults). */
lplug_engine *support_engine(support_log *log, size_t memory_limit,
                             long long instruction_limit);

/* An engine made from *config, its callbacks set to report into *log
** (config->ud becomes log). */
lplug_engine *support_engine_with(support_log *log, lplug_config *config);

/* A value holding {line = line, n = n}. */
lplug_value *support_record(const char *line, long long n);

/* The string field `key` of the table value v, or NULL. */
const char *support_field(const lplug_value *v, const char *key);

/* Makes plugin `name` under root whose handler on fail-closed hook "t"
** has body `body` (Lua statements; the handler's argument is `v`), loads
** it and runs hook "t" over *value (nil when value is NULL).  Returns the
** load's code if it failed, else the run's. */
int support_eval(lplug_engine *e, const char *root, const char *name,
                 const char *body, lplug_value *value);

#endif
