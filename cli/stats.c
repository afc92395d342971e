/*
** stats.c -- the per-plugin statistics table (`lplug run --stats`,
** `lplug stats`), as text or JSON.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lplug.h"
#include "cli/cli.h"

/* "12.3 KB": sizes people read at a glance. */
static const char *human(double n, char *buf, size_t size) {
  static const char *const units[] = {"B", "KB", "MB", "GB"};
  int u = 0;
  while (n >= 1024 && u < 3) n /= 1024, u++;
  if (u == 0) snprintf(buf, size, "%.0f B", n);
  else snprintf(buf, size, "%.1f %s", n, units[u]);
  return buf;
}

void cli_stats_print(const lplug_engine *e, FILE *f, int json) {
  int i, n = lplug_plugin_count(e);
  if (json) fputs("[", f);
  else fprintf(f, "%-16s %-9s %10s %8s %14s %10s %10s\n", "plugin", "state",
               "calls", "errors", "instructions", "mem peak", "storage");
  for (i = 0; i < n; i++) {
    const char *name = lplug_plugin_name(e, i);
    lplug_stats st;
    char peak[32], store[32];
    if (lplug_plugin_stats(e, name, &st) != LPLUG_OK) continue;
    if (json) {
      fprintf(f, "%s{\"plugin\":\"%s\",\"state\":\"%s\",\"calls\":%llu,"
              "\"errors\":%llu,\"cpu_errors\":%llu,\"memory_errors\":%llu,"
              "\"instructions\":%llu,\"memory_peak\":%zu,"
              "\"memory_limit\":%zu,\"storage_bytes\":%lld}",
              i ? "," : "", name,
              lplug_state_name(lplug_plugin_state(e, name)), st.calls,
              st.errors, st.cpu_errors, st.memory_errors, st.instructions,
              st.memory_peak, st.memory_limit, st.storage_bytes);
      continue;
    }
    if (st.storage_quota == 0) snprintf(store, sizeof store, "-");
    else if (st.storage_bytes < 0) snprintf(store, sizeof store, "?");
    else human((double)st.storage_bytes, store, sizeof store);
    fprintf(f, "%-16s %-9s %10llu %8llu %14llu %10s %10s\n", name,
            lplug_state_name(lplug_plugin_state(e, name)), st.calls,
            st.errors, st.instructions,
            human((double)st.memory_peak, peak, sizeof peak), store);
  }
  if (json) fputs("]\n", f);
}

static const char usage[] =
  "usage: lplug stats [--plugins DIR]... [--storage DB] [--json]\n"
  "\n"
  "Loads the plugins under each DIR (default: plugins) as 'lplug run' does,\n"
  "and prints each one's state, calls (loading is one), errors,\n"
  "instructions, memory peak and the bytes its entries take in the\n"
  "storage file DB.\n"
  "\n"
  "options:\n"
  "  --plugins DIR   load every plugin folder under DIR (or DIR itself when\n"
  "                  it is one; repeatable)\n"
  "  --storage DB    the SQLite file 'lplug run --storage DB' wrote\n"
  "  --json          one JSON array instead of the table\n"
  "  -h, --help      print this help\n"
  "\n"
  "exit status: 0 printed, 1 a folder cannot be read, 2 bad usage\n"
  "\n"
  "examples:\n"
  "  lplug stats --storage counts.db\n"
  "  lplug stats --plugins plugins --json\n";

static void on_error(void *ud, const char *who, int code, const char *msg,
                     const char *traceback) {
  (void)who; (void)code; (void)traceback;
  ++*(int *)ud;
  cli_error("%s", msg);
}

int cli_stats(int argc, char **argv) {
  /* --plugins folders are gathered at the front of argv: each takes two
  ** slots, so those were read already. */
  const char **dirs = (const char **)argv;
  int ndirs = 0, json = 0, i, status = 0, reported = 0;
  lplug_config config;
  lplug_engine *e;
  memset(&config, 0, sizeof config);
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if (strcmp(a, "--plugins") == 0 && i + 1 < argc) {
      dirs[ndirs++] = argv[++i];
    } else if (strcmp(a, "--storage") == 0 && i + 1 < argc) {
      config.storage_path = argv[++i];
    } else {
      cli_error("unknown or incomplete option '%s' (try 'lplug stats "
                "--help')", a);
      return 2;
    }
  }
  /* It reads a file run wrote: a name mistyped must not make an empty one
  ** and report nothing stored. */
  if (config.storage_path && access(config.storage_path, R_OK) != 0) {
    cli_error("cannot read storage file '%s': %s", config.storage_path,
              strerror(errno));
    return 1;
  }
  config.grant = lplug_grant_declared;
  config.on_error = on_error;
  config.ud = &reported;
  e = lplug_engine_new(&config);
  if (e == NULL) {
    cli_error("out of memory");
    return 1;
  }
  lplug_hook_define(e, "record", 0, NULL);
  if (cli_load_plugins(e, dirs, ndirs, NULL) == LPLUG_EIO) {
    if (reported == 0) cli_error("%s", lplug_errmsg(e));
    status = 1;
  } else {
    cli_stats_print(e, stdout, json);
  }
  lplug_engine_free(e);
  return status;
}
