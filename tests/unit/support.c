/*
** support.c -- see support.h.
*/
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

char *support_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char *path = malloc(4096);
  assert_non_null(path);
  snprintf(path, 4096, "%s/lplug-test-XXXXXX", base ? base : "/tmp");
  assert_non_null(mkdtemp(path));
  return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st; (void)flag; (void)ftw;
  return remove(path);
}

void support_rmtree(const char *path) {
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  }
}

void support_write(const char *dir, const char *rel, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  mkdirs(path);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

char *support_plugin(const char *root, const char *name, const char *yaml,
                     const char *init_lua) {
  char *dir = malloc(4096);
  char manifest[512];
  assert_non_null(dir);
  snprintf(dir, 4096, "%s/%s", root, name);
  mkdir(dir, 0755);
  if (yaml == NULL) {
    snprintf(manifest, sizeof manifest,
             "name: %s\nversion: 1.0.0\ncapabilities:\n  hooks: ['*']\n", name);
    yaml = manifest;
  }
  support_write(dir, "plugin.yaml", yaml);
  if (init_lua != NULL) support_write(dir, "init.lua", init_lua);
  return dir;
}

static void copy(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src ? src : "");
}

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  support_log *log = ud;
  log->errors++;
  log->last_code = code;
  copy(log->last_plugin, sizeof log->last_plugin, plugin);
  copy(log->last_message, sizeof log->last_message, message);
  copy(log->last_traceback, sizeof log->last_traceback, traceback);
}

static void on_log(void *ud, int level, const char *plugin,
                   const char *message) {
  support_log *log = ud;
  if (level >= 0 && level < 4) log->logs[level]++;
  snprintf(log->last_log, sizeof log->last_log, "%s: %s",
           plugin ? plugin : "-", message);
  if (level == LPLUG_LOG_WARN) {
    log->warnings++;
    copy(log->last_warning, sizeof log->last_warning, message);
  } else if (level == LPLUG_LOG_INFO) {
    size_t used = strlen(log->printed);
    snprintf(log->printed + used, sizeof log->printed - used, "%s\n", message);
  }
}

void support_config(support_log *log, lplug_config *config) {
  memset(log, 0, sizeof *log);
  config->on_error = on_error;
  config->on_log = on_log;
  config->ud = log;
  config->grant = lplug_grant_declared;
}

lplug_engine *support_engine(support_log *log, size_t memory_limit,
                             long long instruction_limit) {
  lplug_config config = {0};
  config.memory_limit = memory_limit;
  config.instruction_limit = instruction_limit;
  config.grant = lplug_grant_declared;
  return support_engine_with(log, &config);
}

lplug_engine *support_engine_with(support_log *log, lplug_config *config) {
  lplug_grant_fn grant = config->grant;
  support_config(log, config);
  config->grant = grant;
  lplug_engine *e = lplug_engine_new(config);
  assert_non_null(e);
  return e;
}

lplug_value *support_record(const char *line, long long n) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  assert_non_null(b);
  assert_non_null(v);
  lplug_build_table(b);
  lplug_build_string(b, "line", 4);
  lplug_build_string(b, line, strlen(line));
  lplug_build_string(b, "n", 1);
  lplug_build_integer(b, n);
  lplug_build_end(b);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  lplug_builder_free(b);
  return v;
}

const char *support_field(const lplug_value *v, const char *key) {
  size_t at;
  if (!lplug_value_field(v, 0, key, &at)) return NULL;
  return lplug_value_string(v, at, NULL);
}

int support_eval(lplug_engine *e, const char *root, const char *name,
                 const char *body, lplug_value *value) {
  char code[8192];
  char *dir;
  int rc;
  lplug_value *nil = NULL;
  if (lplug_hook_find(e, "t") == NULL)
    assert_int_equal(lplug_hook_define(e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL),
                     LPLUG_OK);
  snprintf(code, sizeof code,
           "local hooks = require 'lplug.hooks'\n"
           "hooks.on('t', function(v)\n%s\nend)\n", body);
  dir = support_plugin(root, name, NULL, code);
  rc = lplug_load_plugin(e, dir);
  free(dir);
  if (rc != LPLUG_OK) return rc;
  if (value == NULL) value = nil = lplug_value_new();
  rc = lplug_hook_run(e, "t", value);
  lplug_value_free(nil);
  return rc;
}
