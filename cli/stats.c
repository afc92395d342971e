/*
** stats.c -- the per-plugin statistics table (`lplug run --stats`,
** `lplug stats`), as text or JSON.
**
** `lplug stats --storage DB` must not change DB, yet loading a plugin runs
** its main chunk, which may write storage (storage.incr at load made each
** stats count once more).  The engine has no read-only storage, so the
** plugins load against a private copy of DB (and its WAL), deleted
** afterwards; the storage column is what the copy holds after the loads.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
  "usage: lplug stats [--plugins DIR]... [--config FILE] [--storage DB]\n"
  "                   [--json]\n"
  "\n"
  "Loads the plugins under each DIR (default: the settings file's, else\n"
  "plugins) with the settings 'lplug run' would use, and prints each one's\n"
  "state, calls (loading is one), errors, instructions, memory peak and\n"
  "the bytes its entries take in the storage file DB.  DB is never\n"
  "written: the plugins load against a copy of it in $TMPDIR (default\n"
  "/tmp), deleted afterwards, so what their main chunks write while\n"
  "loading is counted in the table and then dropped.\n"
  "\n"
  "options:\n"
  "  --plugins DIR   load every plugin folder under DIR (or DIR itself when\n"
  "                  it is one; repeatable)\n"
  "  --config FILE   host settings, as for 'lplug run' (default:\n"
  "                  ./lplug.yaml if it exists): plugin folders, limits,\n"
  "                  grants, configuration and the storage file\n"
  "  --storage DB    the SQLite file 'lplug run --storage DB' wrote\n"
  "                  (default: the settings file's; nothing stored\n"
  "                  while no run has written it)\n"
  "  --json          one JSON array instead of the table\n"
  "  -h, --help      print this help\n"
  "\n"
  "exit status: 0 printed; 1 a folder, the settings or DB cannot be read;\n"
  "2 bad usage\n"
  "\n"
  "examples:\n"
  "  lplug stats --storage counts.db\n"
  "  lplug stats --plugins plugins --json\n";

/* The database the plugins load against: a copy of the user's in a
** private folder, named as it is so that messages read right. */
typedef struct snapshot {
  const char *db;              /* the user's file */
  char dir[PATH_MAX];          /* "" until made */
  char copy[2 * PATH_MAX + 2];
} snapshot;

/* Says msg, escaped (it may quote a plugin's text, cli.h), with the
** copy's path written as the user's file. */
static void say(const snapshot *sn, const char *msg) {
  const char *at = sn->dir[0] ? strstr(msg, sn->copy) : NULL;
  size_t before, len;
  char *text;
  if (at == NULL) {
    cli_say(stderr, "lplug: ", msg, 0);
    return;
  }
  before = (size_t)(at - msg);
  len = strlen(msg) - strlen(sn->copy) + strlen(sn->db);
  if ((text = malloc(len + 1)) == NULL) {
    cli_say(stderr, "lplug: ", msg, 0);
    return;
  }
  memcpy(text, msg, before);
  strcpy(text + before, sn->db);
  strcat(text + before, at + strlen(sn->copy));
  cli_say(stderr, "lplug: ", text, 0);
  free(text);
}

typedef struct stats_ctx {
  const snapshot *sn;
  const lplug_host *host;     /* the settings file, or NULL */
  int reported;
} stats_ctx;

/* What the settings file grants, as 'lplug run' grants it; without one,
** what each manifest declares. */
static int grant(void *ud, const char *plugin, const char *capability,
                 const char *item) {
  const stats_ctx *sc = ud;
  if (sc->host)
    return lplug_host_grant((void *)sc->host, plugin, capability, item);
  return lplug_grant_declared(ud, plugin, capability, item);
}

static void on_error(void *ud, const char *who, int code, const char *msg,
                     const char *traceback) {
  stats_ctx *sc = ud;
  (void)who; (void)code; (void)traceback;
  sc->reported++;
  say(sc->sn, msg);
}

/* Copies file `from` to `to` (made, 0600).  0, or -1 with errno set;
** a `from` that is not there is 0 with nothing made when `optional`. */
static int copy_file(const char *from, const char *to, int optional) {
  char buf[65536];
  int in = open(from, O_RDONLY | O_CLOEXEC), out, err = 0;
  ssize_t got = 0;
  if (in < 0) return optional && errno == ENOENT ? 0 : -1;
  out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    err = errno;
    close(in);
    errno = err;
    return -1;
  }
  while ((got = read(in, buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR))
    if (got > 0 && write(out, buf, (size_t)got) != got) break;
  if (got != 0) err = errno ? errno : EIO;
  close(in);
  if (close(out) != 0 && err == 0) err = errno;
  errno = err;
  return err ? -1 : 0;
}

/* Size and change time of path (zeros when it is not there): whether a
** writer changed the file while it was copied. */
static void file_mark(const char *path, long long mark[3]) {
  struct stat st;
  memset(mark, 0, 3 * sizeof *mark);
  if (stat(path, &st) != 0) return;
  mark[0] = (long long)st.st_size;
  mark[1] = (long long)st.st_mtim.tv_sec;
  mark[2] = (long long)st.st_mtim.tv_nsec;
}

static void snapshot_remove(snapshot *sn) {
  static const char *const ends[] = {"", "-wal", "-shm", "-journal", NULL};
  char path[2 * PATH_MAX + 16];
  int i;
  if (sn->dir[0] == '\0') return;
  for (i = 0; ends[i]; i++) {
    snprintf(path, sizeof path, "%s%s", sn->copy, ends[i]);
    unlink(path);
  }
  rmdir(sn->dir);
  sn->dir[0] = '\0';
}

/* Copies DB and its WAL, the file a run's last writes may still be in.
** A run writing meanwhile could leave a copy of two moments: the copy is
** taken again (three tries) until neither file changed while copied. */
static int snapshot_take(snapshot *sn, const char *db) {
  const char *tmp = getenv("TMPDIR"), *base = strrchr(db, '/');
  char wal[PATH_MAX + 8], copy_wal[2 * PATH_MAX + 8];
  long long before[2][3], after[2][3];
  int attempt, err;
  sn->db = db;
  snprintf(sn->dir, sizeof sn->dir, "%s/lplug-stats-XXXXXX",
           tmp && tmp[0] ? tmp : "/tmp");
  if (mkdtemp(sn->dir) == NULL) {
    err = errno;
    sn->dir[0] = '\0';
    return cli_error("cannot make a folder for a copy of '%s': %s", db,
                     strerror(err)), -1;
  }
  snprintf(sn->copy, sizeof sn->copy, "%s/%s", sn->dir, base ? base + 1 : db);
  snprintf(wal, sizeof wal, "%s-wal", db);
  snprintf(copy_wal, sizeof copy_wal, "%s-wal", sn->copy);
  for (attempt = 0; attempt < 3; attempt++) {
    unlink(sn->copy);
    unlink(copy_wal);
    file_mark(db, before[0]);
    file_mark(wal, before[1]);
    if (copy_file(db, sn->copy, 0) != 0 || copy_file(wal, copy_wal, 1) != 0) {
      err = errno;
      snapshot_remove(sn);
      return cli_error("cannot copy '%s' into %s: %s", db,
                       tmp && tmp[0] ? tmp : "/tmp", strerror(err)), -1;
    }
    file_mark(db, after[0]);
    file_mark(wal, after[1]);
    if (memcmp(before, after, sizeof before) == 0) return 0;
  }
  snapshot_remove(sn);
  return cli_error("'%s' kept changing while being copied (is a run "
                   "writing it?); try again", db), -1;
}

/* Whether the settings file's storage path names a file no run has
** written yet: ":memory:" (a run keeps nothing), or a file not there in
** a folder that is (the first run makes it).  A folder missing or a file
** in the way is not: a run cannot open it, and reading it says so. */
static int not_written_yet(const char *path) {
  char folder[PATH_MAX];
  const char *slash = strrchr(path, '/');
  struct stat st;
  if (strcmp(path, ":memory:") == 0) return 1;
  if (access(path, F_OK) == 0 || errno != ENOENT) return 0;
  if (slash == NULL) return 1;
  snprintf(folder, sizeof folder, "%.*s",
           slash == path ? 1 : (int)(slash - path), path);
  return stat(folder, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_stats(int argc, char **argv) {
  /* --plugins folders are gathered at the front of argv: each takes two
  ** slots, so those were read already. */
  const char **dirs = (const char **)argv;
  const char *config_path = NULL, *storage_path = NULL;
  lplug_host *host = NULL;
  int ndirs = 0, json = 0, i, status = 0;
  lplug_config config;
  lplug_engine *e;
  snapshot sn;
  stats_ctx sc;
  memset(&config, 0, sizeof config);
  memset(&sn, 0, sizeof sn);
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
      storage_path = argv[++i];
    } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else {
      cli_error("unknown or incomplete option '%s' (try 'lplug stats "
                "--help')", a);
      return 2;
    }
  }
  if (cli_read_settings(&config_path, &host, stderr, "lplug: ") != 0)
    return 1;
  if (host) lplug_host_configure(host, &config);
  /* The settings file's storage may not be written yet: nothing stored. */
  if (storage_path == NULL && config.storage_path &&
      not_written_yet(config.storage_path))
    config.storage_path = NULL;
  if (storage_path) config.storage_path = storage_path;
  /* It reads a file run wrote: a name mistyped must not make an empty one
  ** and report nothing stored. */
  if (config.storage_path && access(config.storage_path, R_OK) != 0) {
    cli_error("cannot read storage file '%s': %s", config.storage_path,
              strerror(errno));
    lplug_host_free(host);
    return 1;
  }
  if (config.storage_path) {
    if (snapshot_take(&sn, config.storage_path) != 0) {
      lplug_host_free(host);
      return 1;
    }
    config.storage_path = sn.copy;
  }
  sc.sn = &sn;
  sc.host = host;
  sc.reported = 0;
  config.grant = grant;
  config.on_error = on_error;
  config.ud = &sc;
  e = lplug_engine_new(&config);
  if (e == NULL) {
    cli_error("out of memory");
    snapshot_remove(&sn);
    lplug_host_free(host);
    return 1;
  }
  lplug_hook_define(e, "record", 0, NULL);
  if (host && lplug_host_apply_config(host, e) != LPLUG_OK) {
    say(&sn, lplug_errmsg(e));
    status = 1;
  } else if (cli_load_plugins(e, dirs, ndirs, host) == LPLUG_EIO) {
    if (sc.reported == 0) say(&sn, lplug_errmsg(e));
    status = 1;
  } else {
    cli_stats_print(e, stdout, json);
  }
  lplug_engine_free(e);
  snapshot_remove(&sn);
  lplug_host_free(host);
  return status;
}
