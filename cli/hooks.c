/*
** hooks.c -- `lplug hooks`: loads plugins as `lplug run` would and prints
** each hook point with its handlers in the order they run, so that an
** operator can see what priorities and before/after constraints decided.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lplug.h"
#include "cli/cli.h"


static const char usage[] =
  "usage: lplug hooks [--config FILE] [--plugins DIR]...\n"
  "\n"
  "Loads the plugins as 'lplug run' does (same folders, settings, grants\n"
  "and hook point 'record') and prints each hook point with its handlers\n"
  "in the order they run: plugin, priority, before/after constraints.\n"
  "\n"
  "options:\n"
  "  --config FILE   host settings (default: ./lplug.yaml if it exists)\n"
  "  --plugins DIR   load every plugin folder under DIR (or DIR itself when\n"
  "                  it is one; repeatable; default: the file's `plugins:`,\n"
  "                  else ./plugins)\n"
  "  -h, --help      print this help\n"
  "\n"
  "Plugins that fail to load are reported on stderr and left out; the exit\n"
  "status is 0 unless the command itself fails.\n"
  "\n"
  "examples:\n"
  "  lplug hooks --plugins plugins\n"
  "  lplug hooks --config lplug.yaml\n";

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  (void)ud; (void)plugin; (void)code; (void)traceback;
  cli_say(stderr, "lplug: ", message, 0);
}

/* Messages are the plugins' text (or quote it): escaped (cli.h). */
static void on_log(void *ud, int level, const char *plugin,
                   const char *message) {
  char prefix[96];
  (void)ud;
  if (level < LPLUG_LOG_WARN) return;
  snprintf(prefix, sizeof prefix, "lplug: warning: %s%s", plugin ? plugin : "",
           plugin ? ": " : "");
  cli_say(stderr, prefix, message, 0);
}

/* before/after names are any text a plugin gave hooks.on (a plugin it
** does not know of need not be loaded): escaped (cli.h). */
static void print_names(const char *label, const char *const *names, int n) {
  char shown[8 * 64 + 1];
  int i;
  if (n == 0) return;
  printf("  %s ", label);
  for (i = 0; i < n; i++)
    printf("%s%s", i ? ", " : "", cli_escape(names[i], shown, sizeof shown));
}

static void print_hooks(lplug_engine *e) {
  int i, j;
  for (i = 0; i < lplug_hook_count(e); i++) {
    lplug_hook *h = lplug_hook_at(e, i);
    lplug_handler_info info;
    int n = lplug_hook_handlers(h);
    printf("%s (%d handler%s)\n", lplug_hook_name(h), n, n == 1 ? "" : "s");
    for (j = 0; lplug_hook_handler_info(h, j, &info) == LPLUG_OK; j++) {
      printf("  %d. %-20s priority %d", j + 1, info.plugin, info.priority);
      print_names("before:", info.before, info.nbefore);
      print_names("after:", info.after, info.nafter);
      putchar('\n');
    }
  }
}

int cli_hooks(int argc, char **argv) {
  /* --plugins folders are gathered at the front of argv: each takes two
  ** slots, so those were read already. */
  const char **dirs = (const char **)argv, *config_path = NULL;
  int ndirs = 0, i, status = 0;
  lplug_host *host = NULL;
  lplug_config config;
  lplug_engine *e;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--plugins") == 0 || strcmp(a, "--config") == 0) {
      if (++i == argc) {
        cli_error("%s needs a %s (try 'lplug hooks --help')", a,
                  a[2] == 'p' ? "folder" : "file");
        return 2;
      }
      if (a[2] == 'c') config_path = argv[i];
      else dirs[ndirs++] = argv[i];
    } else {
      cli_error("unknown argument '%s' (try 'lplug hooks --help')", a);
      return 2;
    }
  }
  if (cli_read_settings(&config_path, &host, stderr, "lplug: ") != 0)
    return 1;
  memset(&config, 0, sizeof config);
  if (host) lplug_host_configure(host, &config);
  config.on_error = on_error;
  config.on_log = on_log;
  /* As lplug run: the file's grants, else what each manifest declares. */
  config.grant = host ? lplug_host_grant : lplug_grant_declared;
  config.ud = host;
  if ((e = lplug_engine_new(&config)) == NULL) {
    cli_error("out of memory");
    lplug_host_free(host);
    return 1;
  }
  if ((host && lplug_host_apply_config(host, e) != LPLUG_OK) ||
      lplug_hook_define(e, "record", 0, NULL) != LPLUG_OK ||
      cli_load_plugins(e, dirs, ndirs, host) == LPLUG_EIO) {
    cli_say(stderr, "lplug: ", lplug_errmsg(e), 0);
    status = 1;
  } else {
    print_hooks(e);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      cli_error("cannot write the output: %s", strerror(errno));
      status = 1;
    }
  }
  lplug_engine_free(e);
  lplug_host_free(host);
  return status;
}
