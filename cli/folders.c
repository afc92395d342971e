/*
** folders.c -- finding plugin folders and their files for `lplug test`
** and `lplug check`: a folder holding plugin.yaml is a plugin, any other
** folder is searched one level down (as `lplug run --plugins` does).
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void cli_names_free(char **names, int n) {
  int i;
  for (i = 0; i < n; i++) free(names[i]);
  free(names);
}

int cli_list(const char *dir, const char *suffix, int want_dirs,
             char ***out) {
  DIR *d = opendir(dir);
  struct dirent *ent;
  char **names = NULL, path[4096];
  int n = 0, cap = 0;
  *out = NULL;
  if (d == NULL) return -1;
  while ((ent = readdir(d)) != NULL) {
    struct stat st;
    size_t len = strlen(ent->d_name), slen = strlen(suffix);
    if (ent->d_name[0] == '.') continue;
    if (len < slen || strcmp(ent->d_name + len - slen, suffix) != 0) continue;
    cli_join(path, sizeof path, dir, ent->d_name);
    if (stat(path, &st) != 0) continue;
    if (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) continue;
    if (n == cap) {
      char **more = realloc(names, (size_t)(cap ? cap * 2 : 16) * sizeof *more);
      if (more == NULL) break;
      names = more;
      cap = cap ? cap * 2 : 16;
    }
    if ((names[n] = strdup(ent->d_name)) == NULL) break;
    n++;
  }
  closedir(d);
  if (n > 1) qsort(names, (size_t)n, sizeof *names, cmp);
  *out = names;
  return n;
}

void cli_join(char *out, size_t size, const char *dir, const char *name) {
  size_t n = strlen(dir);
  snprintf(out, size, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/",
           name);
}

int cli_is_plugin(const char *dir) {
  char path[4096];
  cli_join(path, sizeof path, dir, "plugin.yaml");
  return access(path, R_OK) == 0;
}

int cli_each_plugin(const char *dir, int (*fn)(void *ud, const char *plugin),
                    void *ud) {
  char **names, path[4096];
  int n, i, status = 0, found = 0;
  if (cli_is_plugin(dir)) return fn(ud, dir);
  n = cli_list(dir, "", 1, &names);
  if (n < 0) {
    cli_error("cannot open folder '%s' (give a plugin folder, or a folder "
              "of plugin folders)", dir);
    return 1;
  }
  for (i = 0; i < n; i++) {
    cli_join(path, sizeof path, dir, names[i]);
    if (!cli_is_plugin(path)) continue;
    found = 1;
    if (fn(ud, path) != 0) status = 1;
  }
  cli_names_free(names, n);
  if (!found) {
    cli_error("no plugin in '%s' (a plugin folder holds plugin.yaml; "
              "'lplug new NAME' makes one)", dir);
    return 1;
  }
  return status;
}

int cli_colour(FILE *f) {
  const char *term = getenv("TERM");
  return isatty(fileno(f)) && getenv("NO_COLOR") == NULL && term &&
         strcmp(term, "dumb") != 0;
}

int cli_read_settings(const char **path, lplug_host **out, FILE *f,
                      const char *prefix) {
  char err[1024];
  *out = NULL;
  if (*path == NULL && access("lplug.yaml", R_OK) == 0) *path = "lplug.yaml";
  if (*path == NULL || lplug_host_load(*path, out, err, sizeof err) ==
      LPLUG_OK)
    return 0;
  cli_say(f, prefix, err, 0);
  return 1;
}

int cli_plugin_dirs(const char *const *given, int n, const lplug_host *h) {
  if (n > 0) return n;
  n = h ? lplug_host_plugin_dirs(h) : 0;
  return n > 0 ? n : 1;
}

const char *cli_plugin_dir(const char *const *given, int n,
                           const lplug_host *h, int i) {
  if (n > 0) return given[i];
  return h && lplug_host_plugin_dirs(h) > 0 ? lplug_host_plugin_dir(h, i)
                                            : "plugins";
}

int cli_load_plugins(lplug_engine *e, const char *const *given, int n,
                     const lplug_host *h) {
  int i, rc, count = cli_plugin_dirs(given, n, h);
  const char **listed = malloc((size_t)count * sizeof *listed);
  if (listed == NULL) return LPLUG_ENOMEM;
  for (i = 0; i < count; i++) listed[i] = cli_plugin_dir(given, n, h, i);
  rc = lplug_load_dirs(e, listed, count);
  free(listed);
  return rc;
}
