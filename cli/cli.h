/*
** cli.h -- the lplug command's subcommands.  cli/ uses only lplug.h.
*/
#ifndef LPLUG_CLI_H
#define LPLUG_CLI_H

#include "lplug.h"

/* Each returns the process exit status: 0 success, 1 failure of the
** command itself (not of a plugin), 2 bad usage. */
int cli_run(int argc, char **argv);
int cli_hooks(int argc, char **argv);

/* watch.c: reloads plugins whose files changed (lplug run --watch).
** open watches every plugin of e (NULL when that fails, said on stderr);
** fd is the descriptor to poll for changes, timeout the milliseconds
** until a change is due to be acted on (-1: none pending); poll reads
** the changes and reloads the plugins that are due. */
typedef struct cli_watch cli_watch;
cli_watch *cli_watch_open(lplug_engine *e);
void cli_watch_close(cli_watch *w);
int cli_watch_fd(const cli_watch *w);
int cli_watch_timeout(const cli_watch *w);
void cli_watch_poll(cli_watch *w);

/* Prints "lplug: <message>" to stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 1, 2)))
#endif
  ;

#endif
