/*
** cli.h -- the lplug command's subcommands.  cli/ uses only lplug.h.
*/
#ifndef LPLUG_CLI_H
#define LPLUG_CLI_H

/* Each returns the process exit status: 0 success, 1 failure of the
** command itself (not of a plugin), 2 bad usage. */
int cli_run(int argc, char **argv);
int cli_hooks(int argc, char **argv);

/* Prints "lplug: <message>" to stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 1, 2)))
#endif
  ;

#endif
