/*
** run.c -- `lplug run`: the stream host.
**
** Loads every plugin folder under each --plugins DIR (as one set, in
** dependency order), defines hook point `record`, and passes each input
** line through it as {line = "...", n = N}.
** What comes out is printed: a table's `line` field, or a string; a
** record whose value ends up false (or nil) is dropped.  Events are
** delivered after each record and at the end.
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lplug.h"
#include "cli/cli.h"

#define ERRORS_SHOWN 10   /* per plugin; the rest are only counted */

/* SIGINT or SIGTERM that asked the run to end, or 0.  The run ends as
** at the end of its input (events delivered, storage committed, output
** flushed, --stats printed), then dies of the signal as it would have;
** a second one kills it at once (SA_RESETHAND). */
static volatile sig_atomic_t stop_signal;

/* Set by SIGPIPE: a reader of the output went away (`lplug run | head
** -1`).  Dying at that write, as by default, would skip what the end of
** a run does (plugins' shutdown callbacks, storage batched by the
** settings file); instead the write fails, the run ends as at the end of
** its input, then dies of SIGPIPE, quietly, as a shell expects. */
static volatile sig_atomic_t output_closed;

static const char usage[] =
  "usage: lplug run [--config FILE] [--plugins DIR]... [--storage DB]\n"
  "                 [--json] [--stats[=json]] [--watch] [--fail-closed]\n"
  "                 [-v] [--] [FILE]...\n"
  "\n"
  "Passes each line of the FILEs (standard input when none, or '-') through\n"
  "the hook 'record' of the plugins found under each DIR (default: plugins)\n"
  "and prints what comes out (a FILE that cannot be read stops it before\n"
  "any record passes).  Handlers get {line = \"...\", n = 1, ...}.\n"
  "\n"
  "options:\n"
  "  --config FILE   host settings: plugin folders, limits, grants, failure\n"
  "                  policy, plugins' configuration (default: ./lplug.yaml\n"
  "                  if it exists).  Without one, each plugin is granted\n"
  "                  what its manifest declares; with one, only what the\n"
  "                  file grants.\n"
  "  --plugins DIR   load every plugin folder under DIR (or DIR itself when\n"
  "                  it is one; repeatable; default: the file's `plugins:`,\n"
  "                  else ./plugins)\n"
  "  --storage DB    keep the plugins' lplug.storage entries in the SQLite\n"
  "                  file DB, created if missing (default: the file's\n"
  "                  `storage: { path: }`, else in memory: lost at exit)\n"
  "  --watch         reload a plugin when its files change (between two\n"
  "                  records; a failed reload keeps the running version)\n"
  "  --json          input and output are JSON lines: each input line is\n"
  "                  decoded and the object is the record; each result is\n"
  "                  printed as one line of JSON (a line that is not an\n"
  "                  object is reported with the reason and skipped)\n"
  "  --stats         print a table per plugin at exit on stderr: calls,\n"
  "                  errors, instructions, memory peak, storage bytes\n"
  "  --stats=json    the same as one JSON array\n"
  "  --fail-closed   drop a record when a handler fails (default: skip\n"
  "                  the failing handler and keep the record)\n"
  "  -v, --verbose   report loaded plugins and a summary on stderr\n"
  "  -h, --help      print this help\n"
  "  --              the arguments after it are FILEs\n"
  "\n"
  "Plugin errors go to stderr, prefixed with the plugin's name; they do\n"
  "not change the exit status (with --fail-closed, a plugin that fails to\n"
  "load stops the run before it starts).  When stderr is a terminal and\n"
  "the output is not, stderr shows a progress line (records and\n"
  "records/s).  SIGINT or SIGTERM ends the run as the end of its input\n"
  "does (events delivered, storage committed, --stats printed), and the\n"
  "exit status is the signal's (130, 143); a second one kills at once.\n"
  "A reader of the output that goes away (| head -1) ends it the same\n"
  "way, quietly, with SIGPIPE's status (141).\n"
  "\n"
  "exit status: 0 done (whatever plugins did with records), 1 a settings\n"
  "file, plugin folder or input could not be read, output not written, or\n"
  "(--fail-closed) a plugin did not load, 2 bad usage\n"
  "\n"
  "examples:\n"
  "  lplug run --plugins plugins data/sample.log\n"
  "  tail -f app.log | lplug run --watch --storage counts.db\n"
  "  lplug run --json --stats=json events.jsonl > out.jsonl\n";

typedef struct run_state {
  int verbose;
  int json;                   /* --json */
  int progress;               /* stderr is a terminal */
  double started, shown;      /* monotonic seconds */
  unsigned long long bad;     /* --json lines that did not parse */
  unsigned long long unprintable;  /* results with no line to print */
  lplug_host *host;           /* the settings file, or NULL */
  unsigned long long in, out, failures;
  int write_failed;           /* errno of the first failed write, or 0 */
  int storage_failed;         /* a batch could not be committed */
  struct { char name[65]; unsigned long long errors; } seen[64];
  int nseen;
  unsigned said[1024];        /* -v: hashes of the grants already said */
} run_state;

/* Whether the grant (plugin, capability, item, ok) was said already; a
** plugin asks again on every emit, and -v says each grant once.  A hash
** collision only costs a line. */
static int said_before(run_state *rs, const char *plugin, const char *cap,
                       const char *item, int ok) {
  const char *parts[3];
  unsigned h = 2166136261u ^ (unsigned)ok, *slot;
  int i;
  parts[0] = plugin;
  parts[1] = cap;
  parts[2] = item ? item : "";
  for (i = 0; i < 3; i++) {
    const char *c;
    for (c = parts[i]; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
  }
  h |= 1;  /* 0 marks an empty slot */
  for (i = 0; i < 1024; i++) {
    slot = &rs->said[(h + (unsigned)i) % 1024];
    if (*slot == h) return 1;
    if (*slot == 0) {
      *slot = h;
      return 0;
    }
  }
  return 0;  /* full: say it */
}

static unsigned long long *error_count(run_state *rs, const char *plugin) {
  int i;
  for (i = 0; i < rs->nseen; i++)
    if (strcmp(rs->seen[i].name, plugin) == 0) return &rs->seen[i].errors;
  if (rs->nseen == 64) return &rs->seen[63].errors;
  snprintf(rs->seen[rs->nseen].name, sizeof rs->seen[0].name, "%s", plugin);
  return &rs->seen[rs->nseen++].errors;
}

/* Takes the progress line off stderr before something else is said. */
static void clear_progress(run_state *rs) {
  if (rs->progress && rs->shown > 0) fputs("\r\033[K", stderr);
}

static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  run_state *rs = ud;
  unsigned long long *n = error_count(rs, plugin ? plugin : "?");
  rs->failures++;
  clear_progress(rs);
  if (++*n <= ERRORS_SHOWN) {
    /* escaped (cli.h): a plugin's newline could forge a line of ours */
    cli_say(stderr, "lplug: ", message, 0);
    if (rs->verbose && traceback && traceback[0])
      cli_say(stderr, "", traceback, 1);
  }
  if (*n == ERRORS_SHOWN)
    cli_error("%s: further errors are counted, not shown", plugin);
  (void)code;
}

/* The engine's own messages may quote a plugin's files (an unknown key
** of its manifest): they are escaped as the plugin's are. */
static void on_log(void *ud, int level, const char *plugin,
                   const char *message) {
  run_state *rs = ud;
  if (level == LPLUG_LOG_DEBUG && !rs->verbose) return;
  clear_progress(rs);
  if (plugin) {
    char prefix[80];
    snprintf(prefix, sizeof prefix, "[%s] ", plugin);
    cli_say(stderr, prefix, message, 0);
  } else {
    cli_say(stderr, level >= LPLUG_LOG_WARN ? "lplug: warning: " : "lplug: ",
            message, 0);
  }
}

/* Without a host config the operator chose the plugins: each gets what
** its manifest declares, said on stderr with -v. */
static int grant(void *ud, const char *plugin, const char *capability,
                 const char *item) {
  run_state *rs = ud;
  int ok = rs->host ? lplug_host_grant(rs->host, plugin, capability, item)
                    : lplug_grant_declared(ud, plugin, capability, item);
  if (rs->verbose && !said_before(rs, plugin, capability, item, ok)) {
    if (item)
      cli_error("%s '%s' of capability '%s' to plugin '%s'",
                ok ? "granted" : "refused", item, capability, plugin);
    else
      cli_error("%s capability '%s' to plugin '%s'", ok ? "granted" :
                "refused", capability, plugin);
  }
  return ok;
}

/* Says once that what plugins store is lost at exit, if any can store. */
static void warn_memory_storage(const lplug_engine *e) {
  int i;
  lplug_stats st;
  for (i = 0; i < lplug_plugin_count(e); i++)
    if (lplug_plugin_stats(e, lplug_plugin_name(e, i), &st) == LPLUG_OK &&
        st.storage_quota > 0) {
      cli_error("note: plugin storage is in memory and lost at exit "
                "(--storage FILE keeps it)");
      return;
    }
}

/* A run with no plugin passes every record through unchanged: likely a
** folder given wrong, so it is said, naming the folders looked in (the
** run goes on: a pipeline may run before its plugins are installed). */
static void warn_no_plugins(const char *const *dirs, int ndirs,
                            const lplug_host *h) {
  char where[1024];
  size_t len = 0;
  int i, n = cli_plugin_dirs(dirs, ndirs, h);
  where[0] = '\0';
  for (i = 0; i < n && len < sizeof where; i++) {
    int w = snprintf(where + len, sizeof where - len, "%s'%s'",
                     i ? ", " : "", cli_plugin_dir(dirs, ndirs, h, i));
    if (w < 0) break;
    len += (size_t)w;
  }
  cli_error("warning: no plugin found in %s, so records pass through "
            "unchanged (a plugin is a folder holding plugin.yaml)", where);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The progress line, at most 4 times a second; done ends it. */
static void progress(run_state *rs, int done) {
  double t = now();
  if (!rs->progress || (!done && t - rs->shown < 0.25)) return;
  rs->shown = t;
  fprintf(stderr, "\r\033[K%llu records, %.0f/s, %llu out", rs->in,
          t > rs->started ? (double)rs->in / (t - rs->started) : 0.0,
          rs->out);
  if (done) fputs("\r\033[K", stderr);
}

/* Prints a result as one line of JSON.  Returns 1 when printed, 0 when
** dropped (false, nil), -1 when it has no JSON text (errno EINVAL: NaN,
** an infinity, a string that is not UTF-8, keys 1 and "1"; ENOMEM). */
static int emit_json(const lplug_value *v) {
  size_t len;
  char *text;
  int t = lplug_value_type(v, 0);
  if (t == LPLUG_TNIL || (t == LPLUG_TBOOLEAN && !lplug_value_boolean(v, 0)))
    return 0;
  errno = 0;
  text = lplug_value_to_json(v, &len);
  if (text == NULL) return -1;
  fwrite(text, 1, len, stdout);
  fputc('\n', stdout);
  lplug_free(text);
  return 1;
}

/* Prints what a record became: a string or a number, or a table's `line`
** field.  Returns 1 when printed, 0 when dropped (false, nil), -1 when
** there is nothing printable (a table without a line, true). */
static int emit(const lplug_value *v) {
  size_t at = 0, len;
  const char *s;
  char num[64];
  int t = lplug_value_type(v, 0);
  if (t == LPLUG_TNIL || (t == LPLUG_TBOOLEAN && !lplug_value_boolean(v, 0)))
    return 0;
  if (t == LPLUG_TTABLE && !lplug_value_field(v, 0, "line", &at)) return -1;
  switch (lplug_value_type(v, at)) {
    case LPLUG_TSTRING:
      s = lplug_value_string(v, at, &len);
      break;
    case LPLUG_TINTEGER:
      snprintf(num, sizeof num, "%lld", lplug_value_integer(v, at, NULL));
      s = num;
      len = strlen(num);
      break;
    case LPLUG_TFLOAT:  /* as Lua's tostring: 2.0, 0.5, 1e+100, inf */
      snprintf(num, sizeof num, "%.14g", lplug_value_float(v, at, NULL));
      if (strspn(num, "-0123456789") == strlen(num)) strcat(num, ".0");
      s = num;
      len = strlen(num);
      break;
    default:
      return -1;
  }
  fwrite(s, 1, len, stdout);
  fputc('\n', stdout);
  return 1;
}

/* Whether output can no longer be written (a reader that went away, with
** SIGPIPE ignored as services often run): the run stops there instead of
** reading the rest of its input for nothing. */
static int output_failed(run_state *rs) {
  if (!ferror(stdout)) return 0;
  if (!rs->write_failed) rs->write_failed = errno ? errno : EIO;
  return 1;
}

/* What a run works with, besides its counters. */
typedef struct run_ctx {
  lplug_engine *e;
  lplug_hook *hook;
  lplug_builder *b;
  lplug_value *v;
  cli_watch *watch;           /* --watch, or NULL */
  run_state *rs;
} run_ctx;

/* What --json makes of an input line: its object in *in, or 0 and why
** not, to follow "input line N": the decoder's reason (the line is the
** text, so its column is the place), or what the line holds instead of
** an object.  An array is refused, not read as a table: [] and [null]
** would come out as {}, and the handlers' rec.field would mean nothing. */
static int json_record(lplug_engine *e, const char *line, size_t len,
                       lplug_value **in, char *why, size_t n) {
  static const char *const kinds[] = {"null", "a boolean", "a number",
                                      "a string", "an array"};
  const char *msg, *col;
  size_t i = 0;
  int kind, rc = lplug_value_from_json(e, line, len, in);
  /* Not strspn: the line is not NUL-terminated, and a last line of
  ** blanks without its newline was followed past the buffer's end. */
  while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
    i++;
  if (rc != LPLUG_OK) {
    msg = lplug_errmsg(e);
    col = strstr(msg, "column ");     /* "invalid JSON: line 1, column 7: ..." */
    if (rc == LPLUG_ENOMEM) snprintf(why, n, "could not be read: out of "
                                     "memory");
    else snprintf(why, n, "is not JSON: %s", col ? col : msg);
    return 0;
  }
  if (i < len && line[i] == '{') return 1;
  kind = i >= len ? 0 : line[i] == 'n' ? 0 : line[i] == 't' || line[i] == 'f'
         ? 1 : line[i] == '"' ? 3 : line[i] == '[' ? 4 : 2;
  snprintf(why, n, "is %s, not an object (each line is one record: "
           "{\"field\": ...})", kinds[kind]);
  lplug_value_free(*in);
  *in = NULL;
  return 0;
}

/* Passes one line through the hook; then delivers what its handlers
** emitted.  Returns 0, or 1 when the host is out of memory or output
** cannot be written. */
static int run_record(run_ctx *c, const char *line, size_t len) {
  lplug_builder *b = c->b;
  int rc;
  if (c->rs->json) {
    lplug_value *in = NULL;
    char why[320];
    int printed;
    c->rs->in++;
    if (!json_record(c->e, line, len, &in, why, sizeof why)) {
      clear_progress(c->rs);
      if (++c->rs->bad <= ERRORS_SHOWN)
        cli_error("input line %llu %s; skipped (--json reads one JSON "
                  "object per line)", c->rs->in, why);
      if (c->rs->bad == ERRORS_SHOWN)
        cli_error("further lines that are not JSON objects are counted, "
                  "not shown");
      return 0;
    }
    rc = lplug_hook_call(c->hook, in);
    printed = rc == LPLUG_OK ? emit_json(in) : 0;
    if (printed > 0) c->rs->out++;
    if (printed < 0 && c->rs->unprintable++ == 0) {
      clear_progress(c->rs);
      cli_error("record %llu came out as what JSON cannot hold (%s) and was "
                "dropped; such records are counted, not shown", c->rs->in,
                errno == ENOMEM ? "out of memory" : "NaN or an infinity, a "
                "string that is not UTF-8, or keys 1 and \"1\" in one table; "
                "json.encode in the plugin names the part");
    }
    lplug_value_free(in);
    lplug_dispatch(c->e, 0);
    progress(c->rs, 0);
    return output_failed(c->rs);
  }
  lplug_build_table(b);
  lplug_build_string(b, "line", 4);
  lplug_build_string(b, line, len);
  lplug_build_string(b, "n", 1);
  lplug_build_integer(b, (long long)++c->rs->in);
  lplug_build_end(b);
  if (lplug_builder_finish(b, c->v) != LPLUG_OK) {
    cli_error("out of memory");
    return 1;
  }
  rc = lplug_hook_call(c->hook, c->v);
  if (rc == LPLUG_OK) {
    int printed = emit(c->v);
    if (printed > 0) c->rs->out++;
    if (printed < 0 && c->rs->unprintable++ == 0) {
      clear_progress(c->rs);
      cli_error("record %llu came out with no line to print (a table "
                "without `line`, or true) and was dropped; such records "
                "are counted, not shown", c->rs->in);
    }
  }
  lplug_dispatch(c->e, 0);
  progress(c->rs, 0);
  return output_failed(c->rs);
}

/* Waits until fd has input; meanwhile, with --watch, reloads plugins
** whose files changed.  What was printed is flushed first, so that a
** reader at the other end of a pipe sees each record's output before
** lplug waits for the next one; so are storage writes waiting in a
** batch (settings' storage: { batch: }) when no input is ready, or an
** idle `tail -f | lplug run` would hold them until the next record. */
static void wait_input(run_ctx *c, int fd) {
  struct pollfd fds[2];
  if (fflush(stdout) != 0) return;  /* the run stops: nothing to wait for */
  fds[0].fd = fd;
  fds[0].events = POLLIN;
  if (poll(fds, 1, 0) == 0 && lplug_storage_flush(c->e) != LPLUG_OK) {
    clear_progress(c->rs);
    cli_say(stderr, "lplug: ", lplug_errmsg(c->e), 0);
    c->rs->storage_failed = 1;
  }
  if (c->watch == NULL) return;  /* read() blocks as needed */
  fds[1].fd = cli_watch_fd(c->watch);
  fds[1].events = POLLIN;
  for (;;) {
    int n = poll(fds, 2, cli_watch_timeout(c->watch));
    if ((n < 0 && errno != EINTR) || stop_signal) return;
    if (n <= 0 || (fds[1].revents & POLLIN)) cli_watch_poll(c->watch);
    if (n > 0 && fds[0].revents) return;
  }
}

/* Runs every line of fd (the last one may lack its newline).  Returns 0,
** or 1 on a read error or when out of memory. */
static int run_fd(run_ctx *c, int fd) {
  char *buf = NULL;
  size_t len = 0, cap = 0, start = 0;
  size_t scanned = 0;  /* buf[start..scanned) holds no newline: a long
                          line is not searched again after each read */
  int status = 0;
  for (;;) {
    char *nl;
    ssize_t got;
    while (status == 0 && !stop_signal && scanned < len &&
           (nl = memchr(buf + scanned, '\n', len - scanned)) != NULL) {
      status = run_record(c, buf + start, (size_t)(nl - (buf + start)));
      start = scanned = (size_t)(nl - buf) + 1;
    }
    if (status != 0 || stop_signal) break;
    scanned = len;
    if (start > 0) {  /* keep the partial line */
      memmove(buf, buf + start, len - start);
      len -= start;
      scanned -= start;
      start = 0;
    }
    if (len == cap) {
      char *more = realloc(buf, cap ? cap * 2 : 65536);
      if (more == NULL) {
        cli_error("out of memory");
        status = 1;
        break;
      }
      buf = more;
      cap = cap ? cap * 2 : 65536;
    }
    wait_input(c, fd);
    if (stop_signal) break;
    if (output_failed(c->rs)) {  /* the flush before waiting failed */
      status = 1;
      break;
    }
    got = read(fd, buf + len, cap - len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      status = 1;
      break;
    }
    if (got == 0) {
      if (len > 0) status = run_record(c, buf, len);
      break;
    }
    len += (size_t)got;
  }
  free(buf);
  return status;
}

/* What the command line asks for.  dirs and files hold up to argc
** entries each (argv's own strings). */
typedef struct run_args {
  const char **dirs, **files, *config_path, *storage_path;
  int ndirs, nfiles, flags, watch;
  int stats;                  /* 1: table, 2: JSON */
} run_args;

/* Reads argv into *o and rs; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, run_args *o, run_state *rs) {
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--plugins") == 0) {
      if (++i == argc) {
        cli_error("--plugins needs a folder (try 'lplug run --help')");
        return 2;
      }
      o->dirs[o->ndirs++] = argv[i];
    } else if (strcmp(a, "--config") == 0) {
      if (++i == argc) {
        cli_error("--config needs a file (try 'lplug run --help')");
        return 2;
      }
      o->config_path = argv[i];
    } else if (strcmp(a, "--storage") == 0) {
      if (++i == argc || argv[i][0] == '\0') {
        cli_error("--storage needs a file (try 'lplug run --help')");
        return 2;
      }
      o->storage_path = argv[i];
    } else if (strcmp(a, "--json") == 0) {
      rs->json = 1;
    } else if (strcmp(a, "--stats") == 0 || strcmp(a, "--stats=text") == 0) {
      o->stats = 1;
    } else if (strcmp(a, "--stats=json") == 0) {
      o->stats = 2;
    } else if (strcmp(a, "--watch") == 0) {
      o->watch = 1;
    } else if (strcmp(a, "--fail-closed") == 0) {
      o->flags |= LPLUG_HOOK_FAIL_CLOSED;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      rs->verbose = 1;
    } else if (strcmp(a, "--") == 0) {  /* the rest are files */
      while (++i < argc) o->files[o->nfiles++] = argv[i];
    } else if (a[0] == '-' && a[1] != '\0') {
      cli_error("unknown option '%s' (try 'lplug run --help')", a);
      return 2;
    } else {
      o->files[o->nfiles++] = a;
    }
  }
  return -1;
}

/* Whether every input named can be read, said for each one that cannot.
** Checked before any record passes: a run stopping at the third file
** would have stored what the first two made, and the same run again,
** the name corrected, would count them twice.  stat, not open: a FIFO
** named later may not have its writer yet. */
static int inputs_readable(const run_args *o) {
  int i, ok = 1;
  struct stat st;
  for (i = 0; i < o->nfiles; i++) {
    if (strcmp(o->files[i], "-") == 0) continue;
    if (stat(o->files[i], &st) != 0 || access(o->files[i], R_OK) != 0) {
      cli_error("cannot open '%s': %s", o->files[i], strerror(errno));
      ok = 0;
    } else if (S_ISDIR(st.st_mode)) {
      cli_error("cannot read '%s': it is a folder", o->files[i]);
      ok = 0;
    }
  }
  return ok;
}

static void on_stop(int sig) { stop_signal = sig; }

static void on_pipe(int sig) {
  output_closed = 1;
  (void)sig;
}

/* Catches SIGINT, SIGTERM and SIGPIPE for the run to end cleanly; a
** signal the parent ignores (a background job of a script; SIGPIPE of a
** service) stays ignored.  Not SA_RESTART: a read or poll waiting for
** input returns at once. */
static void catch_stop_signals(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGPIPE};
  struct sigaction sa, old;
  size_t i;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    /* SIGPIPE comes again with each write that fails: not reset */
    sa.sa_handler = sigs[i] == SIGPIPE ? on_pipe : on_stop;
    sa.sa_flags = sigs[i] == SIGPIPE ? 0 : SA_RESETHAND;
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
      sigaction(sigs[i], &sa, NULL);
  }
}

static void say_warning(void *ud, const char *text) {
  (void)ud;
  cli_say(stderr, "lplug: warning: ", text, 0);
}

/* Entries of the settings file for plugins that are neither loaded nor
** failed (those were said already): a misspelt name, whose settings
** would silently not apply. */
static void warn_unknown_plugins(run_state *rs, lplug_engine *e) {
  int i, n = lplug_plugin_count(e);
  const char **names = malloc(((size_t)n + 64) * sizeof *names);
  if (names == NULL) return;
  for (i = 0; i < n; i++) names[i] = lplug_plugin_name(e, i);
  for (i = 0; i < rs->nseen; i++) names[n++] = rs->seen[i].name;
  lplug_host_unknown_plugins(rs->host, names, n, say_warning, NULL);
  free(names);
}

int cli_run(int argc, char **argv) {
  int i, status = 0, load_rc;
  run_args o;
  run_state rs;
  run_ctx ctx;
  lplug_config config;
  lplug_engine *e = NULL;
  lplug_hook *hook;
  lplug_builder *b = NULL;
  lplug_value *v = NULL;
  memset(&rs, 0, sizeof rs);
  memset(&o, 0, sizeof o);
  o.dirs = malloc(2 * (size_t)argc * sizeof *o.dirs);
  if (o.dirs == NULL) {
    cli_error("out of memory");
    return 1;
  }
  o.files = o.dirs + argc;
  if ((status = parse_args(argc, argv, &o, &rs)) >= 0) {
    free(o.dirs);
    return status;
  }
  status = 0;
  if (!inputs_readable(&o)) {
    cli_error("stopped: nothing was run");
    free(o.dirs);
    return 1;
  }
  if (cli_read_settings(&o.config_path, &rs.host, stderr, "lplug: ") != 0) {
    free(o.dirs);
    return 1;
  }
  if (o.config_path != NULL) {
    if (rs.verbose) cli_error("host settings from %s", o.config_path);
    if (lplug_host_fail_closed(rs.host)) o.flags |= LPLUG_HOOK_FAIL_CLOSED;
  }
  memset(&config, 0, sizeof config);
  if (rs.host) lplug_host_configure(rs.host, &config);
  if (o.storage_path) config.storage_path = o.storage_path;
  config.on_error = on_error;
  config.on_log = on_log;
  config.grant = grant;
  config.ud = &rs;
  e = lplug_engine_new(&config);
  b = lplug_builder_new();
  v = lplug_value_new();
  if (e == NULL || b == NULL || v == NULL) {
    cli_error("out of memory");
    status = 1;
    goto done;
  }
  if (rs.host && lplug_host_apply_config(rs.host, e) != LPLUG_OK) {
    cli_say(stderr, "lplug: ", lplug_errmsg(e), 0);
    status = 1;
    goto done;
  }
  lplug_hook_define(e, "record", o.flags, &hook);
  /* One set, so that dependencies resolve across folders. */
  load_rc = cli_load_plugins(e, o.dirs, o.ndirs, rs.host);
  if (load_rc == LPLUG_EIO) {
    /* A folder that cannot be read loads nothing and is said here; a
    ** plugin's file or storage that cannot be used was said by on_error. */
    if (rs.failures == 0) cli_say(stderr, "lplug: ", lplug_errmsg(e), 0);
    cli_error("stopped: nothing was run");
    status = 1;
    goto done;
  }
  if (load_rc != LPLUG_OK && (o.flags & LPLUG_HOOK_FAIL_CLOSED)) {
    /* Fail-closed: no record passes a plugin that failed, and one that
    ** did not load would be passed by every record. */
    cli_error("stopped: a plugin failed to load and the hook is "
              "fail-closed; nothing was run");
    status = 1;
    goto done;
  }
  if (rs.verbose)
    for (i = 0; i < lplug_plugin_count(e); i++)
      cli_error("loaded plugin '%s'", lplug_plugin_name(e, i));
  if (load_rc == LPLUG_OK && lplug_plugin_count(e) == 0)
    warn_no_plugins(o.dirs, o.ndirs, rs.host);  /* none failed: none found */
  if (rs.host) warn_unknown_plugins(&rs, e);
  if (config.storage_path == NULL) warn_memory_storage(e);
  if (o.nfiles == 0) o.files[o.nfiles++] = "-";
  /* Not when the records go to the same terminal: they would land in
  ** the middle of the line. */
  rs.progress = isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO) &&
                !rs.verbose;
  rs.started = now();
  ctx.e = e;
  ctx.hook = hook;
  ctx.b = b;
  ctx.v = v;
  ctx.rs = &rs;
  ctx.watch = o.watch ? cli_watch_open(e) : NULL;
  if (o.watch && ctx.watch == NULL) status = 1;
  catch_stop_signals();
  for (i = 0; i < o.nfiles && status == 0 && !stop_signal; i++) {
    const char *file = o.files[i];
    int is_stdin = strcmp(file, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      cli_error("cannot open '%s': %s", file, strerror(errno));
      status = 1;
      break;
    }
    if (run_fd(&ctx, fd) != 0) {
      if (!rs.write_failed)
        cli_error("error reading '%s': %s", file, strerror(errno));
      status = 1;
    }
    if (!is_stdin) close(fd);
  }
  cli_watch_close(ctx.watch);
  /* Deliver what is left; events may beget events, but not forever: what
  ** is still queued after that is said, not dropped without a word. */
  for (i = 0; i < 100 && lplug_event_pending(e) > 0; i++) lplug_dispatch(e, 0);
  if (lplug_event_pending(e) > 0)
    cli_error("warning: %d event(s) still queued after 100 rounds of "
              "delivery at the end were dropped (plugins answering each "
              "other's events without end?)", lplug_event_pending(e));
  if (lplug_storage_flush(e) != LPLUG_OK) {
    cli_say(stderr, "lplug: ", lplug_errmsg(e), 0);
    status = 1;
  }
  if (rs.storage_failed) status = 1;
  if (fflush(stdout) != 0 && !rs.write_failed)
    rs.write_failed = errno ? errno : EIO;
  output_failed(&rs);
  if (rs.write_failed && !output_closed) {
    cli_error("cannot write output: %s", strerror(rs.write_failed));
    status = 1;
  }
  progress(&rs, 1);
  if (rs.unprintable > 1)
    cli_error("%llu records came out with no %s to print (dropped)",
              rs.unprintable, rs.json ? "JSON text" : "line");
  if (rs.bad > ERRORS_SHOWN || (rs.verbose && rs.bad > 0))
    cli_error("%llu input lines were not JSON objects (skipped)", rs.bad);
  if (rs.verbose)
    cli_error("%llu records in, %llu out, %llu plugin failures", rs.in,
              rs.out, rs.failures);
  if (o.stats) cli_stats_print(e, stderr, o.stats == 2);
  if (stop_signal)
    cli_error("stopped by %s after %llu records", stop_signal == SIGINT ?
              "SIGINT" : "SIGTERM", rs.in);
done:
  free(o.dirs);
  lplug_value_free(v);
  lplug_builder_free(b);
  lplug_engine_free(e);
  lplug_host_free(rs.host);
  if (stop_signal) {  /* dies of it, as a script waiting on it expects */
    fflush(stdout);
    signal(stop_signal, SIG_DFL);
    raise(stop_signal);
  }
  if (output_closed && rs.write_failed) {  /* not when only stderr's was */
    signal(SIGPIPE, SIG_DFL);
    raise(SIGPIPE);
  }
  return status;
}
