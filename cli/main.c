/*
** main.c -- the lplug command: dispatches to subcommands.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lplug.h"
#include "cli/cli.h"

static int command(int argc, char **argv);

static const char usage[] =
  "usage: lplug COMMAND [OPTIONS]\n"
  "\n"
  "Runs sandboxed Lua plugins over data.\n"
  "\n"
  "commands:\n"
  "  run       pass input lines through the plugins' 'record' hook\n"
  "  new       make a plugin folder to start from, with its tests\n"
  "  check     report problems in plugin folders, as 'file:line: message'\n"
  "  test      run plugins' specs (spec/NAME_spec.lua) in a test host\n"
  "  stats     load plugins and print each one's state and statistics\n"
  "  hooks     print each hook point's handlers in the order they run\n"
  "  version   print the version\n"
  "  help      print this help ('help COMMAND': that command's)\n"
  "\n"
  "'lplug COMMAND --help' describes a command.  An option's value may\n"
  "follow it or an '=': --config lplug.yaml, --config=lplug.yaml (a\n"
  "value that may be left out only after '=': --stats=json).\n"
  "\n"
  "exit status: 0 success; 1 the command failed (run: not a plugin's\n"
  "failure; check: problems found; test: a test failed); 2 bad usage\n"
  "\n"
  "examples:\n"
  "  lplug new tagger --dir plugins && lplug test plugins/tagger\n"
  "  lplug run --stats --plugins plugins access.log > out.log\n";

void cli_error(const char *fmt, ...) {
  va_list ap;
  fputs("lplug: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* Whether name is help or version, or one of their option forms: they
** have no help of their own but the command's usage (and `help --help`
** handed on as `--help --help` came back here for ever). */
static int is_help_or_version(const char *name) {
  static const char *const names[] = {"help", "--help", "-h", "version",
                                      "--version", NULL};
  int i;
  for (i = 0; names[i]; i++)
    if (strcmp(name, names[i]) == 0) return 1;
  return 0;
}

/* `lplug help COMMAND` is `lplug COMMAND --help`. */
static int help(int argc, char **argv) {
  char *as_help[3];
  if (argc > 3) {
    cli_error("'%s' takes one command name, got '%s' and '%s' (try 'lplug "
              "--help')", argv[1], argv[2], argv[3]);
    return 2;
  }
  if (argc == 2 || is_help_or_version(argv[2])) {
    fputs(usage, stdout);
    return 0;
  }
  as_help[0] = argv[0];
  as_help[1] = argv[2];
  as_help[2] = "--help";
  return command(3, as_help);
}

static int command(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : NULL;
  if (cmd == NULL) {
    fputs(usage, stderr);
    return 2;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "-h") == 0)
    return help(argc, argv);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    if (argc > 2) {  /* `version --json` must not pass for one that worked */
      cli_error("'%s' takes no argument, got '%s' (try 'lplug --help')",
                cmd, argv[2]);
      return 2;
    }
    printf("lplug %s (Lua 5.4)\n", lplug_version());
    return 0;
  }
  if (strcmp(cmd, "run") == 0) return cli_run(argc - 1, argv + 1);
  if (strcmp(cmd, "hooks") == 0) return cli_hooks(argc - 1, argv + 1);
  if (strcmp(cmd, "test") == 0) return cli_test(argc - 1, argv + 1);
  if (strcmp(cmd, "new") == 0) return cli_new(argc - 1, argv + 1);
  if (strcmp(cmd, "check") == 0) return cli_check(argc - 1, argv + 1);
  if (strcmp(cmd, "stats") == 0) return cli_stats(argc - 1, argv + 1);
  cli_error("unknown command '%s' (try 'lplug --help')", cmd);
  return 2;
}

/* The options that take a value, in any command.  "--NAME=VALUE" is read
** as "--NAME VALUE", as in most Unix tools; the commands see only the
** second form (one that does not know NAME says so: "unknown option
** '--dir'").  run's "--stats=json" is an option of its own, not split. */
static const char *const valued[] = {"--plugins", "--config", "--storage",
                                     "--dir", "--instructions", "--memory",
                                     NULL};

/* The valued option that a (starting "--NAME=") names, or NULL. */
static const char *valued_option(const char *a) {
  const char *eq = strchr(a, '=');
  int i;
  if (eq == NULL) return NULL;
  for (i = 0; valued[i]; i++)
    if (strlen(valued[i]) == (size_t)(eq - a) &&
        memcmp(a, valued[i], (size_t)(eq - a)) == 0)
      return valued[i];
  return NULL;
}

static int is_valued(const char *a) {
  int i;
  for (i = 0; valued[i]; i++)
    if (strcmp(a, valued[i]) == 0) return 1;
  return 0;
}

/* Copies argv with each "--NAME=VALUE" of a valued option split in two,
** up to "--" (what follows it is operands) and not in the value of an
** option ("--config --dir=x" names a file "--dir=x"); not for help and
** version, which take no option (`help --config=x` names no command
** "--config=x", not two words the user did not write).  The strings
** stay argv's and valued's; NULL when out of memory. */
static char **split_values(int *argc, char **argv) {
  char **out = malloc(((size_t)*argc * 2 + 1) * sizeof *out);
  int i, n = 0, options = *argc < 2 || !is_help_or_version(argv[1]);
  if (out == NULL) return NULL;
  for (i = 0; i < *argc; i++) {
    const char *name = options && i > 1 ? valued_option(argv[i]) : NULL;
    if (name != NULL) {
      out[n++] = (char *)name;
      out[n++] = strchr(argv[i], '=') + 1;
      continue;
    }
    out[n++] = argv[i];
    if (i > 1 && strcmp(argv[i], "--") == 0) options = 0;
    if (options && i > 1 && is_valued(argv[i]) && i + 1 < *argc)
      out[n++] = argv[++i];
  }
  out[n] = NULL;
  *argc = n;
  return out;
}

int main(int argc, char **argv) {
  int fd, rc;
  char **args;
  /* A closed standard descriptor gets /dev/null, opened for reading
  ** only: otherwise the next file opened takes its number (--watch's
  ** inotify became "standard input" and the run waited on it for ever).
  ** Read-only, a closed output still fails every write (EBADF) as it
  ** would closed, so `lplug ... >&-` is an error, not output thrown away. */
  for (fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
        open("/dev/null", O_RDONLY) != fd)
      return 1;
  if ((args = split_values(&argc, argv)) == NULL) {
    cli_error("out of memory");
    return 1;
  }
  rc = command(argc, args);
  free(args);
  /* Output that could not be written is a failure (a full disk), said
  ** here unless the command failed (and said so) already. */
  if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
    cli_error("cannot write the output: %s", strerror(errno));
    rc = 1;
  }
  return rc;
}
