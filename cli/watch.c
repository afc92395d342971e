/*
** watch.c -- `lplug run --watch`: reloads a plugin when its files change.
**
** Each plugin folder (and the folders in it, a few levels deep) is
** watched with inotify.  A change marks the plugin; once its files have
** been quiet for WATCH_QUIET_MS (editors write a file in several steps)
** it is reloaded with lplug_reload, between two records, and the outcome
** is said on stderr.  A reload that fails leaves the running version in
** place, so a half-saved file never takes a plugin down.
**
** A plugin folder that goes away (rm -r, a checkout, rsync --delete)
** loses its watches; while it is gone the folder is looked for every
** WATCH_MISSING_MS, and when it is back it is watched again and the
** plugin reloaded.
*/
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lplug.h"
#include "cli/cli.h"

#define WATCH_QUIET_MS 200
#define WATCH_MISSING_MS 500
#define WATCH_DEPTH 3
#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM \
                      | IN_MOVED_TO | IN_ATTRIB | IN_MODIFY)

typedef struct watched {
  int wd;
  int plugin;           /* index into plugins */
  int depth;
  char *path;           /* the folder: new folders in it are path/name */
} watched;

typedef struct watched_plugin {
  char name[65];
  double changed;       /* monotonic seconds of the last change; 0: none */
  int missing;          /* its folder went away: looked for again */
} watched_plugin;

struct cli_watch {
  lplug_engine *e;
  int fd;
  watched *dirs;
  int ndirs, dircap;
  watched_plugin *plugins;
  int nplugins;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Watches folder `path` of plugin i and, below WATCH_DEPTH, its folders. */
static void add_dir(cli_watch *w, const char *path, int plugin, int depth) {
  DIR *d;
  struct dirent *de;
  int i, wd = inotify_add_watch(w->fd, path, WATCH_EVENTS | IN_ONLYDIR);
  char *copy;
  if (wd < 0) {  /* path: folder names in the plugin's, escaped (cli.h) */
    char shown[PATH_MAX];
    int err = errno;
    cli_error("--watch: cannot watch '%s': %s",
              cli_escape(path, shown, sizeof shown), strerror(err));
    return;
  }
  for (i = 0; i < w->ndirs; i++)
    if (w->dirs[i].wd == wd) return;  /* watched already */
  if (w->ndirs == w->dircap) {
    int cap = w->dircap ? w->dircap * 2 : 16;
    watched *dirs = realloc(w->dirs, (size_t)cap * sizeof *dirs);
    if (dirs == NULL) return;
    w->dirs = dirs;
    w->dircap = cap;
  }
  if ((copy = strdup(path)) == NULL) return;
  w->dirs[w->ndirs].wd = wd;
  w->dirs[w->ndirs].plugin = plugin;
  w->dirs[w->ndirs].depth = depth;
  w->dirs[w->ndirs].path = copy;
  w->ndirs++;
  if (depth >= WATCH_DEPTH || (d = opendir(path)) == NULL) return;
  while ((de = readdir(d)) != NULL) {
    char sub[PATH_MAX];
    struct stat st;
    if (de->d_name[0] == '.') continue;
    snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
    if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
      add_dir(w, sub, plugin, depth + 1);
  }
  closedir(d);
}

cli_watch *cli_watch_open(lplug_engine *e) {
  cli_watch *w = calloc(1, sizeof *w);
  int i, n = lplug_plugin_count(e);
  if (w == NULL) return NULL;
  w->e = e;
  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  w->plugins = calloc((size_t)(n ? n : 1), sizeof *w->plugins);
  if (w->fd < 0 || w->plugins == NULL) {
    cli_error("--watch: cannot watch files: %s", strerror(errno));
    cli_watch_close(w);
    return NULL;
  }
  for (i = 0; i < n; i++) {
    const char *name = lplug_plugin_name(e, i);
    snprintf(w->plugins[i].name, sizeof w->plugins[i].name, "%s", name);
    add_dir(w, lplug_plugin_dir(e, name), i, 0);
  }
  w->nplugins = n;
  return w;
}

void cli_watch_close(cli_watch *w) {
  int i;
  if (w == NULL) return;
  if (w->fd >= 0) close(w->fd);
  for (i = 0; i < w->ndirs; i++) free(w->dirs[i].path);
  free(w->dirs);
  free(w->plugins);
  free(w);
}

int cli_watch_fd(const cli_watch *w) { return w->fd; }

int cli_watch_timeout(const cli_watch *w) {
  double first = 0;
  int i, ms, missing = 0;
  for (i = 0; i < w->nplugins; i++) {
    missing |= w->plugins[i].missing;
    if (w->plugins[i].changed &&
        (first == 0 || w->plugins[i].changed < first))
      first = w->plugins[i].changed;
  }
  if (first == 0) return missing ? WATCH_MISSING_MS : -1;
  ms = (int)((first + WATCH_QUIET_MS / 1000.0 - now()) * 1000) + 1;
  if (ms < 0) ms = 0;
  return missing && ms > WATCH_MISSING_MS ? WATCH_MISSING_MS : ms;
}

/* Forgets watch i, which the kernel removed (its folder went away): the
** kernel may give its number to a new watch. */
static void forget(cli_watch *w, int i) {
  if (w->dirs[i].depth == 0) w->plugins[w->dirs[i].plugin].missing = 1;
  free(w->dirs[i].path);
  w->dirs[i] = w->dirs[--w->ndirs];
}

/* Marks the plugins whose folders had events; watches new folders. */
static void read_events(cli_watch *w) {
  _Alignas(struct inotify_event) char buf[4096];
  ssize_t len;
  while ((len = read(w->fd, buf, sizeof buf)) > 0) {
    const char *p;
    for (p = buf; p < buf + len;) {
      const struct inotify_event *ev = (const void *)p;
      int i;
      for (i = 0; i < w->ndirs; i++)
        if (w->dirs[i].wd == ev->wd) {
          watched dir = w->dirs[i];
          if (ev->mask & IN_IGNORED) {
            forget(w, i);
            break;
          }
          if (!w->plugins[dir.plugin].missing)
            w->plugins[dir.plugin].changed = now();
          if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR) &&
              ev->len && dir.depth < WATCH_DEPTH) {
            char path[PATH_MAX];  /* a new folder in this one: watch it */
            snprintf(path, sizeof path, "%s/%s", dir.path, ev->name);
            add_dir(w, path, dir.plugin, dir.depth + 1);
          }
          break;
        }
      p += sizeof *ev + ev->len;
    }
  }
}

void cli_watch_poll(cli_watch *w) {
  double t = now();
  int i;
  read_events(w);
  for (i = 0; i < w->nplugins; i++) {
    watched_plugin *wp = &w->plugins[i];
    if (wp->missing) {  /* reloaded once its folder is back (and quiet) */
      const char *dir = lplug_plugin_dir(w->e, wp->name);
      struct stat st;
      wp->changed = 0;
      if (dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        wp->missing = 0;
        add_dir(w, dir, i, 0);
        wp->changed = t;
      }
    }
    if (wp->changed == 0 || t - wp->changed < WATCH_QUIET_MS / 1000.0)
      continue;
    wp->changed = 0;
    if (lplug_reload(w->e, wp->name) == LPLUG_OK)
      cli_error("reloaded plugin '%s'", wp->name);
    else  /* the engine reported why to on_error */
      cli_error("reload of plugin '%s' failed; it keeps running the version "
                "it had", wp->name);
  }
}
