/*
** cli.h -- the lplug command's subcommands.  cli/ uses only lplug.h.
*/
#ifndef LPLUG_CLI_H
#define LPLUG_CLI_H

#include <stdio.h>

#include "lplug.h"

/* Each returns the process exit status: 0 success, 1 failure of the
** command itself (not of a plugin), 2 bad usage. */
int cli_run(int argc, char **argv);
int cli_hooks(int argc, char **argv);
int cli_test(int argc, char **argv);
int cli_new(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_stats(int argc, char **argv);

/* stats.c: one line per loaded plugin of e (state, calls, errors,
** instructions, memory peak, storage bytes), or a JSON array. */
void cli_stats_print(const lplug_engine *e, FILE *f, int json);

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

/* folders.c.  cli_list stores in *out the sorted names in `dir` ending
** in `suffix` ("" for all) that are folders (want_dirs) or files, and
** returns their number (-1 when dir cannot be read); free them with
** cli_names_free.  cli_each_plugin calls fn for `dir` if it is a plugin
** folder, else for each plugin folder in it; returns 1 if any call did,
** or nothing was found (said on stderr).  cli_join writes dir/name
** into out, with no second '/' after a dir ending in one (what users
** type: "plugins/").  cli_colour: whether f is a terminal that takes
** colour (NO_COLOR unset). */
int cli_list(const char *dir, const char *suffix, int want_dirs,
             char ***out);
void cli_names_free(char **names, int n);
void cli_join(char *out, size_t size, const char *dir, const char *name);
int cli_is_plugin(const char *dir);
int cli_each_plugin(const char *dir, int (*fn)(void *ud, const char *plugin),
                    void *ud);
int cli_colour(FILE *f);

/* The plugin folders a command names: `given` (n of them, from
** --plugins; each a folder of plugins or a plugin's own), else the
** settings file's `plugins:` (h may be NULL), else ./plugins.
** cli_plugin_dirs says how many, cli_plugin_dir gives folder i of them;
** cli_load_plugins loads them as one set and returns lplug_load_dirs'
** code, or LPLUG_ENOMEM. */
/* The settings file a command reads: *path (--config), else
** ./lplug.yaml when there is one (*path is then set to it).  *out is NULL
** when there is none.  Returns 0, or 1 having written why to f after
** prefix. */
int cli_read_settings(const char **path, lplug_host **out, FILE *f,
                      const char *prefix);

int cli_plugin_dirs(const char *const *given, int n, const lplug_host *h);
const char *cli_plugin_dir(const char *const *given, int n,
                           const lplug_host *h, int i);
int cli_load_plugins(lplug_engine *e, const char *const *given, int n,
                     const lplug_host *h);

/* escape.c: text a plugin, a spec or a plugin's file controls is printed
** escaped, so that it cannot forge a line of ours or drive the terminal:
** \n and \r as such, other control bytes and the C1 controls U+0080..
** U+009F as \xNN (ESC as \x1b); tabs stay, and so does a newline before
** a tab when `indented` (a traceback's lines cannot pass for ours).
** cli_say writes prefix (ours, as it is), text escaped and a newline to
** f, in one write when short; cli_escape writes text escaped into out
** (size bytes, cut at a whole character) and returns out. */
void cli_say(FILE *f, const char *prefix, const char *text, int indented);
const char *cli_escape(const char *text, char *out, size_t size);

/* Prints "lplug: <message>" to stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 1, 2)))
#endif
  ;

#endif
