/*
** error.c -- error codes, their names and texts, the version, and the
** engine's last message.  LPLUG_ERRNO_MAP (lplug.h) makes all of them.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *lplug_version(void) {
  return STR(LPLUG_VERSION_MAJOR) "." STR(LPLUG_VERSION_MINOR) "."
         STR(LPLUG_VERSION_PATCH);
}

int lplug_version_number(void) {
  return LPLUG_VERSION_MAJOR * 10000 + LPLUG_VERSION_MINOR * 100 +
         LPLUG_VERSION_PATCH;
}

const char *lplug_strerror(int code) {
  switch (code) {
    case LPLUG_OK: return "success";
#define XX(name, value, text) case LPLUG_##name: return text;
    LPLUG_ERRNO_MAP(XX)
#undef XX
    default: return "unknown error";
  }
}

const char *lplug_errname(int code) {
  switch (code) {
    case LPLUG_OK: return "OK";
#define XX(name, value, text) case LPLUG_##name: return #name;
    LPLUG_ERRNO_MAP(XX)
#undef XX
    default: return "UNKNOWN";
  }
}

const char *lplug_errmsg(const lplug_engine *e) {
  return e ? e->errmsg : "no engine";
}

const char *engine_size_text(size_t n, char *buf, size_t size) {
  if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
    snprintf(buf, size, "%zu MB", n / (1024 * 1024));
  else if (n >= 1024 && n % 1024 == 0)
    snprintf(buf, size, "%zu KB", n / 1024);
  else
    snprintf(buf, size, "%zu bytes", n);
  return buf;
}

int engine_error(lplug_engine *e, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->errmsg, sizeof e->errmsg, fmt, ap);
  va_end(ap);
  return code;
}

void engine_report(lplug_engine *e, const char *who, int code,
                   const char *traceback) {
  char message[sizeof e->errmsg];
  char trace[sizeof ((sandbox_failure *)0)->traceback];
  if (e->config.on_error == NULL) return;
  memcpy(message, e->errmsg, sizeof message);
  snprintf(trace, sizeof trace, "%s", traceback);
  e->busy++;  /* a failure being reported: no load or unload from it */
  e->config.on_error(e->config.ud, who, code, message, trace);
  e->busy--;
  memcpy(e->errmsg, message, sizeof message);
}

void engine_log(lplug_engine *e, int level, const char *who,
                const char *message) {
  if (e->config.on_log)
    e->config.on_log(e->config.ud, level, who, message);
}
