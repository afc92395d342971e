/*
** check.c -- `lplug check`: reports what is wrong with plugin folders,
** one "file:line[:col]: message" per problem, like a compiler.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lplug.h"
#include "cli/cli.h"

static const char usage[] =
  "usage: lplug check [--config FILE] [-q] [--] DIR...\n"
  "\n"
  "Checks each plugin folder DIR (or each plugin folder inside DIR): the\n"
  "manifest parses, every .lua file compiles, the modules, hook points and\n"
  "event topics the code names literally are declared in plugin.yaml, and\n"
  "the plugin loads with its configuration.  Prints one line per problem,\n"
  "'file:line[:col]: message' at the place it is about ('file: message'\n"
  "when no line is to blame), and 'DIR: ok' for each plugin without one.\n"
  "The load defines the hook points a host could offer: record (the one\n"
  "'lplug run' defines), those plugin.yaml lists and those the code names.\n"
  "A .lua link that resolves outside the folder is a problem, and is not\n"
  "read.\n"
  "\n"
  "options:\n"
  "  --config FILE   check the plugins' values in this settings file's\n"
  "                  config: against their schemas (default: ./lplug.yaml\n"
  "                  if it exists); warn of its grants: and config:\n"
  "                  entries that name none of the plugins checked\n"
  "  -q, --quiet     print problems only\n"
  "  -h, --help      print this help\n"
  "  --              the arguments after it are DIRs\n"
  "\n"
  "exit status: 0 no problem, 1 problems found, 2 bad usage\n"
  "\n"
  "examples:\n"
  "  lplug check plugins/redact\n"
  "  lplug check --config lplug.yaml plugins\n";

typedef struct check_state {
  int quiet;
  int problems;
  lplug_host *host;
  char (*names)[72];  /* the checked plugins' names, for the settings' */
  int nnames, cap;
} check_state;

/* Problems quote the plugin's code and files: escaped (cli.h). */
static void on_problem(void *ud, const char *text) {
  (void)ud;
  cli_say(stdout, "", text, 0);
}

/* Keeps the name plugin.yaml gives the plugin in dir (one that does
** not parse is a problem said by the check, and names none). */
static void note_name(check_state *cs, const char *dir) {
  if (cs->nnames == cs->cap) {
    int cap = cs->cap ? cs->cap * 2 : 16;
    char (*more)[72] = realloc(cs->names, (size_t)cap * sizeof *more);
    if (more == NULL) return;
    cs->names = more;
    cs->cap = cap;
  }
  if (lplug_manifest_name(dir, cs->names[cs->nnames], sizeof cs->names[0])
      == LPLUG_OK)
    cs->nnames++;
}

static int check_one(void *ud, const char *dir) {
  check_state *cs = ud;
  char shown[4096];
  int n = lplug_check_plugin(dir, cs->host, on_problem, cs);
  if (cs->host) note_name(cs, dir);
  cli_escape(dir, shown, sizeof shown);  /* folder names are the plugins' */
  if (n < 0) {
    cli_error("cannot check '%s': %s", shown, lplug_strerror(n));
    return 1;
  }
  if (n == 0 && !cs->quiet) printf("%s: ok\n", shown);
  cs->problems += n;
  return n > 0;
}

static void say_warning(void *ud, const char *text) {
  (void)ud;
  cli_say(stdout, "warning: ", text, 0);
}

/* Entries of the settings file's grants: and config: for none of the
** plugins checked: a misspelt name, whose settings would not apply (as
** lplug run warns).  A warning: the file may serve other folders too. */
static void warn_unknown_plugins(check_state *cs) {
  const char **names = malloc(((size_t)cs->nnames + 1) * sizeof *names);
  int i;
  if (names == NULL) return;
  for (i = 0; i < cs->nnames; i++) names[i] = cs->names[i];
  lplug_host_unknown_plugins(cs->host, names, cs->nnames, say_warning, NULL);
  free(names);
}

int cli_check(int argc, char **argv) {
  check_state cs;
  const char *config_path = NULL;
  int i, status = 0, ndirs = 0, names_only = 0;
  memset(&cs, 0, sizeof cs);
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      cs.quiet = 1;
    } else if (strcmp(a, "--config") == 0) {
      if (++i == argc) {
        cli_error("--config needs a file (try 'lplug check --help')");
        return 2;
      }
      config_path = argv[i];
    } else if (strcmp(a, "--") == 0) {  /* the rest are folders */
      ndirs += argc - i - 1;
      break;
    } else if (a[0] == '-' && a[1] != '\0') {
      cli_error("unknown option '%s' (try 'lplug check --help')", a);
      return 2;
    } else {
      ndirs++;
    }
  }
  if (ndirs == 0) {
    cli_error("name the plugin folders to check, e.g. 'lplug check plugins' "
              "(try 'lplug check --help')");
    return 2;
  }
  if (cli_read_settings(&config_path, &cs.host, stdout, "") != 0) return 1;
  for (i = 1; i < argc; i++) {
    if (!names_only && strcmp(argv[i], "--config") == 0) {
      i++;
      continue;
    }
    if (!names_only && strcmp(argv[i], "--") == 0) {
      names_only = 1;
      continue;
    }
    if (!names_only && argv[i][0] == '-' && argv[i][1] != '\0')
      continue;  /* '-': a name */
    if (cli_each_plugin(argv[i], check_one, &cs) != 0) status = 1;
  }
  if (cs.host) warn_unknown_plugins(&cs);
  free(cs.names);
  lplug_host_free(cs.host);
  return status;
}
