/*
** storage.c -- see storage.h.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "engine/engine.h"
#include "engine/storage.h"

/* PRAGMA application_id of an lplug storage file ("lplg"), and the
** schema it holds (PRAGMA user_version). */
#define APPLICATION_ID 0x6c706c67
#define SCHEMA_VERSION 1

/* How long a write waits for another process holding the database. */
#define BUSY_TIMEOUT_MS 5000

enum {
  Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
  Q_GET, Q_SIZE, Q_PUT, Q_DELETE, Q_USAGE, Q_KEYS, Q_DATA_VERSION, Q_COUNT
};

static const char *const queries[Q_COUNT] = {
  "BEGIN IMMEDIATE",
  "COMMIT",
  "ROLLBACK",
  "SAVEPOINT call",          /* the most recent "call" is the innermost */
  "RELEASE call",
  "ROLLBACK TO call",
  "SELECT value FROM lplug_storage WHERE plugin = ?1 AND key = ?2",
  "SELECT length(key) + length(value) FROM lplug_storage "
  "WHERE plugin = ?1 AND key = ?2",
  "INSERT INTO lplug_storage (plugin, key, value) VALUES (?1, ?2, ?3) "
  "ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
  "DELETE FROM lplug_storage WHERE plugin = ?1 AND key = ?2",
  "SELECT count(*), coalesce(sum(length(key) + length(value)), 0) "
  "FROM lplug_storage WHERE plugin = ?1",
  "SELECT key FROM lplug_storage WHERE plugin = ?1 AND key >= ?2 "
  "AND key < ?3 ORDER BY key LIMIT ?4",
  "PRAGMA data_version",     /* changes when another connection commits */
};

static const char *const schema =
  "CREATE TABLE IF NOT EXISTS lplug_storage ("
  "  plugin TEXT NOT NULL,"
  "  key BLOB NOT NULL,"
  "  value BLOB NOT NULL,"
  "  PRIMARY KEY (plugin, key)"
  ") WITHOUT ROWID;";

/* A write waiting in the write set: the plugin's name, the key and the
** encoded value (none: a deletion) back to back in the set's buffer.  The
** name, not the plugin, says whose it is, as in the table: a plugin freed
** (a failed load) while its writes wait leaves nothing dangling. */
typedef struct pending {
  size_t at;
  size_t nlen, klen, vlen;
  int deleted;
} pending;

struct storage {
  sqlite3 *db;
  sqlite3_stmt *q[Q_COUNT];
  int batch_ms;
  int in_txn;                 /* a transaction is open */
  double txn_began;           /* monotonic seconds */
  storage_frame *top;         /* innermost running call */
  int lost;                   /* running calls whose undo SQLite took */
  char lost_why[256];         /* the failure that made SQLite do it */
  unsigned long long writes;  /* writes ever done, for frames */
  unsigned long long epoch;   /* bumped when cached usages go stale */
  long long data_version;     /* PRAGMA data_version at the last begin */
  pending *ws;                /* the write set: STORAGE_WS_ENTRIES */
  size_t nws;                 /* entries in use, oldest first */
  char *wsbuf;                /* STORAGE_WS_BYTES */
  size_t wsused;
  /* The plugin name bound as ?1 of Q_PUT and Q_DELETE by ws_apply (a
  ** copy; length 0: none known, as after bind()): the writes written out
  ** are mostly one plugin's, and binding the name again costs as much as
  ** the rest of the glue around a write. */
  char bound[2][128];
  size_t bound_len[2];
  /* Where in wsbuf ?2 (the key) and ?3 (the value) of Q_PUT and Q_DELETE
  ** are bound by ws_apply, and how long (NULL: not known, as after
  ** bind()).  A call's writes start at the same place of wsbuf every
  ** time, so the next call's key and value are mostly where the last
  ** ones were, and as long: SQLite reads a SQLITE_STATIC parameter's
  ** bytes when the statement runs, so binding them again (about 170
  ** instructions each, a fifth of the glue around a write) is skipped. */
  const char *bound_at[2][2];
  size_t bound_size[2][2];
};

static int fail(sqlite3 *db, int code, char *err, size_t n, const char *what) {
  snprintf(err, n, "storage: %s: %s", what,
           db ? sqlite3_errmsg(db) : "out of memory");
  return code;
}

static int exec(storage *s, int q) {
  int rc = sqlite3_step(s->q[q]);
  sqlite3_reset(s->q[q]);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Reads one integer pragma. */
static long long pragma(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  long long v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* Refuses a file some other program made, or a newer lplug. */
static int check_file(sqlite3 *db, const char *path, char *err, size_t n) {
  long long app = pragma(db, "PRAGMA application_id");
  long long version = pragma(db, "PRAGMA user_version");
  long long tables = pragma(db, "SELECT count(*) FROM sqlite_schema");
  if (app < 0 || version < 0 || tables < 0)
    return fail(db, LPLUG_EIO, err, n, path);
  if (app != APPLICATION_ID && tables > 0) {
    snprintf(err, n, "storage: '%s' is not an lplug storage file (it holds "
             "other tables; give lplug a file of its own)", path);
    return LPLUG_EIO;
  }
  if (version > SCHEMA_VERSION) {
    snprintf(err, n, "storage: '%s' was made by a newer lplug (schema %lld; "
             "this one reads %d)", path, version, SCHEMA_VERSION);
    return LPLUG_EIO;
  }
  return LPLUG_OK;
}

/* SQLite's busy handler: waits for another process's lock as
** sqlite3_busy_timeout does (the same steps, BUSY_TIMEOUT_MS in all), and
** tells the running call's backstop that the time was the database's, not
** the plugin's. */
static int busy_wait(void *ud, int count) {
  static const int steps[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
  const int nsteps = (int)(sizeof steps / sizeof steps[0]);
  storage *s = ud;
  sandbox *sb = s->top && s->top->plugin ? &s->top->plugin->sb : NULL;
  struct timespec ts;
  long long began;
  int i, ms, waited = 0;
  for (i = 0; i < count && i < nsteps; i++) waited += steps[i];
  if (count > nsteps) waited += (count - nsteps) * steps[nsteps - 1];
  ms = steps[count < nsteps ? count : nsteps - 1];
  if (waited >= BUSY_TIMEOUT_MS) return 0;
  if (ms > BUSY_TIMEOUT_MS - waited) ms = BUSY_TIMEOUT_MS - waited;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  began = sb ? budget_host_begin(sb) : 0;
  nanosleep(&ts, NULL);
  if (sb) budget_host_end(sb, began);
  return 1;
}

static int setup(storage *s, const char *path, int memory, char *err,
                 size_t n) {
  char sql[512];
  int i, rc;
  sqlite3_busy_handler(s->db, busy_wait, s);
  if (!memory &&
      (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) ||
       sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL)))
    return fail(s->db, LPLUG_EIO, err, n, path);
  if ((rc = check_file(s->db, path, err, n)) != LPLUG_OK) return rc;
  /* Only a new file is written to here: another process may hold the
  ** write lock of a file in use for a while. */
  if (pragma(s->db, "PRAGMA user_version") < SCHEMA_VERSION) {
    snprintf(sql, sizeof sql, "BEGIN IMMEDIATE; %s PRAGMA application_id = "
             "%d; PRAGMA user_version = %d; COMMIT;", schema, APPLICATION_ID,
             SCHEMA_VERSION);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
      fail(s->db, LPLUG_EIO, err, n, path);
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
      return LPLUG_EIO;
    }
  }
  for (i = 0; i < Q_COUNT; i++)
    if (sqlite3_prepare_v3(s->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &s->q[i], NULL) != SQLITE_OK)
      return fail(s->db, LPLUG_EIO, err, n, queries[i]);
  return LPLUG_OK;
}

int storage_open(storage **out, const char *path, int batch_ms, char *err,
                 size_t errsize) {
  int memory = path == NULL || strcmp(path, ":memory:") == 0;
  storage *s = calloc(1, sizeof *s);
  int rc;
  *out = NULL;
  if (s == NULL) return fail(NULL, LPLUG_ENOMEM, err, errsize, "opening");
  s->batch_ms = batch_ms;
  s->epoch = 1;
  s->ws = malloc(STORAGE_WS_ENTRIES * sizeof *s->ws);
  s->wsbuf = malloc(STORAGE_WS_BYTES);
  if (s->ws == NULL || s->wsbuf == NULL) {
    storage_close(s);
    return fail(NULL, LPLUG_ENOMEM, err, errsize, "opening");
  }
  if (memory) path = ":memory:";
  rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
                       SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errsize, "storage: cannot open '%s': %s", path,
             s->db ? sqlite3_errmsg(s->db) : "out of memory");
    rc = LPLUG_EIO;
  } else {
    rc = setup(s, path, memory, err, errsize);
  }
  if (rc != LPLUG_OK) {
    storage_close(s);
    return rc;
  }
  *out = s;
  return LPLUG_OK;
}

void storage_close(storage *s) {
  int i;
  char err[256];
  if (s == NULL) return;
  storage_flush(s, err, sizeof err);
  for (i = 0; i < Q_COUNT; i++) sqlite3_finalize(s->q[i]);
  sqlite3_close(s->db);
  free(s->ws);
  free(s->wsbuf);
  free(s);
}

/* ---- transactions ------------------------------------------------------- */

static int commit(storage *s, char *err, size_t n) {
  int rc = exec(s, Q_COMMIT);
  s->in_txn = 0;
  if (rc == SQLITE_OK) return LPLUG_OK;
  fail(s->db, LPLUG_EIO, err, n, "cannot commit (the writes of the calls "
       "since the last commit are lost)");
  exec(s, Q_ROLLBACK);
  s->epoch++;
  return LPLUG_EIO;
}

int storage_flush(storage *s, char *err, size_t errsize) {
  if (s == NULL || !s->in_txn || s->top != NULL) return LPLUG_OK;
  return commit(s, err, errsize);
}

void storage_forget_usage(storage *s) { s->epoch++; }

/* After a failure: some (I/O, a full disk) make SQLite roll the whole
** transaction back by itself.  Its writes are gone -- those of the calls
** since the last commit, and the running calls' savepoints with what
** they held -- and so is what usages assumed.  A running call whose
** savepoint went is LOST: it cannot write on (writes outside its
** savepoint could not be undone with it) and fails as it ends.  err
** holds the failure's message, and says so. */
static void check_txn(storage *s, char *err, size_t n) {
  static const char lost[] = "; the database rolled its transaction back: "
    "the writes of the running calls and of the calls since the last "
    "commit are lost";
  storage_frame *f;
  size_t len;
  if (!s->in_txn || !sqlite3_get_autocommit(s->db)) return;
  s->in_txn = 0;
  s->epoch++;
  len = strlen(err);
  if (len + sizeof lost <= n) memcpy(err + len, lost, sizeof lost);
  for (f = s->top; f != NULL; f = f->outer)
    if (f->undo == STORAGE_UNDO_SAVEPOINT) {
      f->undo = STORAGE_UNDO_LOST;
      if (s->lost++ == 0) snprintf(s->lost_why, sizeof s->lost_why, "%s", err);
    }
}

/* Refuses to touch the database while a running call is LOST. */
static int refuse_lost(storage *s, char *err, size_t n) {
  snprintf(err, n, "storage: the running call's writes are lost, and it "
           "cannot write more (%s)", s->lost_why);
  return LPLUG_EIO;
}

static int busy(storage *s, int rc, char *err, size_t n) {
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
    snprintf(err, n, "storage: the database is busy (another process held "
             "it for %d s)", BUSY_TIMEOUT_MS / 1000);
  else
    fail(s->db, LPLUG_EIO, err, n, "write failed");
  return LPLUG_EIO;
}

/* Forgets every cached usage if another connection (another process or
** engine on the file) committed since the last transaction began: it may
** have written the same plugin's entries, and a usage that counted only
** this connection's writes let each of N processes fill the quota. */
static void notice_others(storage *s) {
  sqlite3_stmt *st = s->q[Q_DATA_VERSION];
  long long v;
  if (sqlite3_step(st) == SQLITE_ROW &&
      (v = sqlite3_column_int64(st, 0)) != s->data_version) {
    s->data_version = v;
    s->epoch++;
  }
  sqlite3_reset(st);
}

/* Before a write: the transaction that every write happens in, begun by
** the write so that a busy database fails the write itself.  From here to
** the commit no other connection can write. */
static int begin_txn(storage *s, char *err, size_t n) {
  int rc;
  if (s->lost) return refuse_lost(s, err, n);
  if (s->in_txn) return LPLUG_OK;
  if ((rc = exec(s, Q_BEGIN)) != SQLITE_OK) return busy(s, rc, err, n);
  s->in_txn = 1;
  s->txn_began = plugin_monotonic();
  notice_others(s);
  return LPLUG_OK;
}

/* Notes what undoing f must give back: its plugin's usage, and the write
** counts that tell whether anyone else wrote since. */
static void snapshot(storage *s, storage_frame *f) {
  plugin *p = f->plugin;
  f->used = p->storage_used;
  f->used_exact = p->storage_exact;
  f->used_current = p->storage_epoch == s->epoch;
  f->epoch = s->epoch;
  f->writes = s->writes;
  f->used_writes = p->storage_writes;
}

/* f failed: its plugin's usage is what it was when f's undo was opened. */
static void restore_usage(storage *s, storage_frame *f) {
  plugin *p = f->plugin;
  /* known then, and nothing made every usage stale since (another
  ** connection's commit, a failed one) */
  int current = f->used_current && f->epoch == s->epoch;
  /* Only p wrote since: its usage is known; else others' are stale. */
  if (s->writes - f->writes != p->storage_writes - f->used_writes)
    s->epoch++;
  p->storage_used = f->used;
  p->storage_exact = f->used_exact;
  p->storage_epoch = current ? s->epoch : 0;  /* 0: never current */
}

/* ---- the write set ------------------------------------------------------ */

static const char *ws_name(const storage *s, const pending *w) {
  return s->wsbuf + w->at;
}
static const char *ws_key(const storage *s, const pending *w) {
  return s->wsbuf + w->at + w->nlen;
}
static const char *ws_value(const storage *s, const pending *w) {
  return s->wsbuf + w->at + w->nlen + w->klen;
}

/* The newest pending write of plugin `name` under key, or NULL. */
static const pending *ws_find(const storage *s, const char *name,
                              size_t nlen, const char *key, size_t klen) {
  size_t i = s->nws;
  while (i-- > 0) {
    const pending *w = &s->ws[i];
    if (w->klen == klen && w->nlen == nlen &&
        memcmp(ws_key(s, w), key, klen) == 0 &&
        memcmp(ws_name(s, w), name, nlen) == 0)
      return w;
  }
  return NULL;
}

/* Whether a write of p waits in the write set. */
static int ws_holds(const storage *s, plugin *p) {
  const char *name = plugin_name(p);
  size_t i, nlen = strlen(name);
  for (i = 0; i < s->nws; i++)
    if (s->ws[i].nlen == nlen && memcmp(ws_name(s, &s->ws[i]), name,
                                        nlen) == 0)
      return 1;
  return 0;
}

/* Drops the writes from entry `mark` on. */
static void ws_truncate(storage *s, size_t mark) {
  if (mark >= s->nws) return;
  s->nws = mark;
  s->wsused = s->ws[mark].at;
}

/* Binds name as ?1 of q (Q_PUT or Q_DELETE) unless it is bound already. */
static void bind_name(storage *s, int q, const char *name, size_t nlen) {
  int i = q - Q_PUT;
  if (s->bound_len[i] == nlen && memcmp(s->bound[i], name, nlen) == 0)
    return;
  s->bound_len[i] = 0;
  if (nlen <= sizeof s->bound[i]) {  /* else bound for this write only */
    memcpy(s->bound[i], name, nlen);
    s->bound_len[i] = nlen;
    name = s->bound[i];
  }
  sqlite3_bind_text(s->q[q], 1, name, (int)nlen, SQLITE_STATIC);
}

/* Binds the len bytes at b in wsbuf as blob parameter i (2 or 3) of q
** (Q_PUT or Q_DELETE) unless that parameter is bound to them already. */
static void bind_ws(storage *s, int q, int i, const char *b, size_t len) {
  int k = q - Q_PUT, j = i - 2;
  if (s->bound_at[k][j] == b && s->bound_size[k][j] == len) return;
  s->bound_at[k][j] = NULL;
  if (sqlite3_bind_blob(s->q[q], i, b, (int)len, SQLITE_STATIC) ==
      SQLITE_OK) {
    s->bound_at[k][j] = b;
    s->bound_size[k][j] = len;
  }
}

/* Writes entries [from, to) to the database in order: SQLITE_OK, or the
** failing statement's code (that statement left nothing). */
static int ws_apply(storage *s, size_t from, size_t to) {
  size_t i;
  for (i = from; i < to; i++) {
    const pending *w = &s->ws[i];
    int q = w->deleted ? Q_DELETE : Q_PUT, rc;
    sqlite3_stmt *st = s->q[q];
    bind_name(s, q, ws_name(s, w), w->nlen);
    bind_ws(s, q, 2, ws_key(s, w), w->klen);
    if (!w->deleted) bind_ws(s, q, 3, ws_value(s, w), w->vlen);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return rc;
  }
  return SQLITE_OK;
}

/* Adds a write (bytes NULL: a deletion) of the running call to the write
** set, opening the undo of that call and of the calls around it that
** have none; 0 when it cannot wait there (the call writes to the
** database: see storage.h). */
static int ws_add(storage *s, plugin *p, const char *key, size_t klen,
                  const void *bytes, size_t len) {
  storage_frame *f = s->top;
  const char *name = plugin_name(p);
  size_t nlen = strlen(name), need = nlen + klen + (bytes ? len : 0);
  pending *w;
  if (f == NULL || f->undo == STORAGE_UNDO_SAVEPOINT ||
      s->nws == STORAGE_WS_ENTRIES || need > STORAGE_WS_BYTES - s->wsused)
    return 0;
  for (; f != NULL && f->undo == STORAGE_UNDO_NONE; f = f->outer) {
    snapshot(s, f);
    f->undo = STORAGE_UNDO_SET;
  }
  w = &s->ws[s->nws++];
  w->at = s->wsused;
  w->nlen = nlen;
  w->klen = klen;
  w->vlen = bytes ? len : 0;
  w->deleted = bytes == NULL;
  memcpy(s->wsbuf + w->at, name, nlen);
  memcpy(s->wsbuf + w->at + nlen, key, klen);
  if (bytes) memcpy(s->wsbuf + w->at + nlen + klen, bytes, len);
  s->wsused += need;
  return 1;
}

/* Gives f and every call around it that has none a savepoint, outermost
** first, each followed by the writes waiting for that call (from its mark
** to the next call's, `end`): an outer call that fails must undo what the
** calls inside it wrote, even if it wrote nothing itself. */
static int convert(storage *s, storage_frame *f, size_t end, char *err,
                   size_t n) {
  int rc;
  if (f == NULL || f->undo == STORAGE_UNDO_SAVEPOINT) return LPLUG_OK;
  if ((rc = convert(s, f->outer, f->mark, err, n)) != LPLUG_OK) return rc;
  if ((rc = exec(s, Q_SAVEPOINT)) != SQLITE_OK) return busy(s, rc, err, n);
  if (f->undo == STORAGE_UNDO_NONE) snapshot(s, f);
  f->undo = STORAGE_UNDO_SAVEPOINT;
  f->fresh = 1;
  if (f->mark < end && (rc = ws_apply(s, f->mark, end)) != SQLITE_OK)
    return busy(s, rc, err, n);
  return LPLUG_OK;
}

/* Moves the write set into the database, under savepoints of every
** running call (see storage.h).  On failure the savepoints opened here
** are rolled back and the calls' writes wait in the write set as before
** (a call with none yet has its undo opened there). */
static int to_savepoints(storage *s, char *err, size_t n) {
  storage_frame *f;
  /* in the transaction: a failure may have ended the one the writes
  ** waiting in the set were made in */
  int rc = begin_txn(s, err, n);
  if (rc != LPLUG_OK) return rc;
  rc = convert(s, s->top, s->nws, err, n);
  if (rc == LPLUG_OK) {
    s->nws = s->wsused = 0;
    for (f = s->top; f != NULL; f = f->outer) f->fresh = 0;
    return LPLUG_OK;
  }
  for (f = s->top; f != NULL; f = f->outer) {  /* innermost first */
    if (!f->fresh) continue;
    exec(s, Q_ROLLBACK_TO);
    exec(s, Q_RELEASE);
    f->undo = STORAGE_UNDO_SET;
    f->fresh = 0;
  }
  check_txn(s, err, n);
  return rc;
}

/* Writes the write set from mark on to the database: the call that
** began at mark returned, and no call around it keeps a write set.
** Several writes go under a savepoint, so that a failure leaves none of
** them (one statement is atomic by itself). */
static int ws_write_out(storage *s, size_t mark, char *err, size_t n) {
  int rc, several = s->nws - mark > 1;
  if (s->nws <= mark) return LPLUG_OK;
  if (several && (rc = exec(s, Q_SAVEPOINT)) != SQLITE_OK)
    return busy(s, rc, err, n);
  if ((rc = ws_apply(s, mark, s->nws)) != SQLITE_OK) {
    busy(s, rc, err, n);  /* the message, before anything else runs */
    if (several) exec(s, Q_ROLLBACK_TO);
  }
  if (several) exec(s, Q_RELEASE);
  if (rc == SQLITE_OK) return LPLUG_OK;
  check_txn(s, err, n);
  return LPLUG_EIO;
}

/* ---- calls -------------------------------------------------------------- */

void storage_enter(storage *s, storage_frame *f, plugin *p) {
  f->outer = s->top;
  f->plugin = p;
  f->undo = STORAGE_UNDO_NONE;
  f->fresh = 0;
  f->mark = s->nws;
  s->top = f;
}

int storage_leave(storage *s, storage_frame *f, int failed, char *err,
                  size_t errsize) {
  storage_frame *outer = f->outer;
  int rc = LPLUG_OK;
  s->top = outer;
  if (f->undo == STORAGE_UNDO_LOST) {  /* its savepoint is gone */
    s->lost--;
    snprintf(err, errsize, "storage: none of the call's writes are kept "
             "(%s)", s->lost_why);
    rc = LPLUG_EIO;
    failed = 1;
  }
  /* A returning call's writes join its caller's write set, if that keeps
  ** one; else they are written now. */
  if (f->undo == STORAGE_UNDO_SET && !failed &&
      (outer == NULL || outer->undo == STORAGE_UNDO_SAVEPOINT)) {
    rc = ws_write_out(s, f->mark, err, errsize);
    failed = rc != LPLUG_OK;
  }
  if (failed && f->undo != STORAGE_UNDO_NONE) restore_usage(s, f);
  if (f->undo == STORAGE_UNDO_SAVEPOINT) {
    if (failed) exec(s, Q_ROLLBACK_TO);
    exec(s, Q_RELEASE);
  }
  if (failed || f->undo != STORAGE_UNDO_SET || outer == NULL ||
      outer->undo != STORAGE_UNDO_SET)
    ws_truncate(s, f->mark);
  if (outer == NULL && s->in_txn &&
      (s->batch_ms <= 0 ||
       (plugin_monotonic() - s->txn_began) * 1000 >= s->batch_ms)) {
    char spare[256];  /* a failed call keeps its own message */
    int c = rc == LPLUG_OK ? commit(s, err, errsize)
                           : commit(s, spare, sizeof spare);
    if (rc == LPLUG_OK) rc = c;
  }
  return rc;
}

/* ---- entries -------------------------------------------------------------- */

static sqlite3_stmt *bind(storage *s, int q, plugin *p, const char *key,
                          size_t klen) {
  sqlite3_stmt *st = s->q[q];
  if (q == Q_PUT || q == Q_DELETE) {  /* bound here to other bytes */
    s->bound_len[q - Q_PUT] = 0;
    s->bound_at[q - Q_PUT][0] = s->bound_at[q - Q_PUT][1] = NULL;
  }
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, plugin_name(p), -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, key, (int)klen, SQLITE_STATIC);
  return st;
}

static int check_key(const char *key, size_t klen, char *err, size_t n) {
  if (klen == 0 || klen > STORAGE_MAX_KEY) {
    snprintf(err, n, "key must be 1 to %d bytes (got %zu)", STORAGE_MAX_KEY,
             klen);
    return LPLUG_EINVAL;
  }
  (void)key;
  return LPLUG_OK;
}

long long storage_used(storage *s, plugin *p) {
  sqlite3_stmt *st = s->q[Q_USAGE];
  char err[256];
  if (p->storage_epoch == s->epoch && p->storage_exact)
    return p->storage_used;
  /* the table must hold p's pending writes to be counted */
  if (s->nws > 0 && ws_holds(s, p) && to_savepoints(s, err, sizeof err))
    return -1;
  sqlite3_bind_text(st, 1, plugin_name(p), -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_reset(st);
    return -1;
  }
  p->storage_used = sqlite3_column_int64(st, 1) +
                    sqlite3_column_int64(st, 0) * STORAGE_ENTRY_OVERHEAD;
  if (s->top != NULL)  /* in a call of p's: p pays for the scan */
    p->storage_scanned += (unsigned long long)sqlite3_column_int64(st, 0);
  p->storage_epoch = s->epoch;
  p->storage_exact = 1;
  sqlite3_reset(st);
  return p->storage_used;
}

unsigned long long storage_take_scanned(plugin *p) {
  unsigned long long n = p->storage_scanned;
  p->storage_scanned = 0;
  return n;
}

/* Copies an encoded value into out, checking it first when it comes from
** the database (another program may have written the file). */
static int copy_value(const void *b, size_t len, int check, const char *key,
                      size_t klen, lplug_value *out, char *err, size_t n) {
  if (check && value_check(b, len) != LPLUG_OK) {
    snprintf(err, n, "storage: the value stored under '%.*s' is damaged "
             "(not a well-formed value)", (int)klen, key);
    return LPLUG_EPARSE;
  }
  if (value_reserve(out, len) != LPLUG_OK)
    return fail(NULL, LPLUG_ENOMEM, err, n, "reading");
  out->len = 0;
  memcpy(out->bytes, b, len);
  out->len = len;
  return LPLUG_OK;
}

int storage_get(storage *s, plugin *p, const char *key, size_t klen,
                lplug_value *out, int *found, char *err, size_t errsize) {
  sqlite3_stmt *st;
  int rc;
  *found = 0;
  if ((rc = check_key(key, klen, err, errsize)) != LPLUG_OK) return rc;
  if (s->nws > 0) {  /* the call's own writes first */
    const char *name = plugin_name(p);
    const pending *w = ws_find(s, name, strlen(name), key, klen);
    if (w != NULL) {
      if (w->deleted) return LPLUG_OK;
      rc = copy_value(ws_value(s, w), w->vlen, 0, key, klen, out, err,
                      errsize);
      *found = rc == LPLUG_OK;
      return rc;
    }
  }
  st = bind(s, Q_GET, p, key, klen);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    rc = copy_value(sqlite3_column_blob(st, 0),
                    (size_t)sqlite3_column_bytes(st, 0), 1, key, klen, out,
                    err, errsize);
    *found = rc == LPLUG_OK;
  } else {
    rc = rc == SQLITE_DONE ? LPLUG_OK
                           : fail(s->db, LPLUG_EIO, err, errsize, "read failed");
  }
  sqlite3_reset(st);
  if (rc == LPLUG_EIO) check_txn(s, err, errsize);
  return rc;
}

/* What the entry under key costs now (0 when absent); -1 on failure. */
static long long entry_cost(storage *s, plugin *p, const char *key,
                            size_t klen) {
  sqlite3_stmt *st = bind(s, Q_SIZE, p, key, klen);
  long long cost = -1;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    cost = sqlite3_column_int64(st, 0) + STORAGE_ENTRY_OVERHEAD;
  else if (rc == SQLITE_DONE)
    cost = 0;
  sqlite3_reset(st);
  return cost;
}

static int over_quota(plugin *p, long long used, long long want, char *err,
                      size_t n) {
  snprintf(err, n, "storage quota of %zu bytes for plugin '%s' would be "
           "exceeded (%lld in use, this write needs %lld more; delete "
           "entries, or ask for more under capabilities.storage.quota)",
           p->storage_quota, plugin_name(p), used, want);
  return LPLUG_EFULL;
}

/* Writes (bytes NULL: deletes) the entry under key.  p's usage is kept
** as an upper bound while writes fit under the quota even if each were
** new (the common case costs no read, and the write waits in the write
** set), and made exact -- the write set moved into the table, one read
** of the old entry's size, and a recount if the bound had drifted --
** only when a write could be what passes the quota. */
static int write_entry(storage *s, plugin *p, const char *key, size_t klen,
                       const void *bytes, size_t len, char *err, size_t n) {
  long long used = p->storage_used, old = -1, cost;
  sqlite3_stmt *st;
  int rc, fits, changed = 1;  /* a pending deletion may shrink p */
  if ((rc = begin_txn(s, err, n)) != LPLUG_OK) return rc;
  cost = bytes ? (long long)(klen + len) + STORAGE_ENTRY_OVERHEAD : 0;
  fits = p->storage_epoch == s->epoch &&
         used + cost <= (long long)p->storage_quota;  /* whatever was there */
  if (!fits || !ws_add(s, p, key, klen, bytes, len)) {
    if ((rc = to_savepoints(s, err, n)) != LPLUG_OK) return rc;
    if (!fits) {
      if ((used = storage_used(s, p)) < 0 ||
          (old = entry_cost(s, p, key, klen)) < 0) {
        fail(s->db, LPLUG_EIO, err, n, "read failed");
        check_txn(s, err, n);
        return LPLUG_EIO;
      }
      if (cost > old && used - old + cost > (long long)p->storage_quota)
        return over_quota(p, used, cost - old, err, n);
    }
    if (bytes) {
      st = bind(s, Q_PUT, p, key, klen);
      sqlite3_bind_blob(st, 3, bytes, (int)len, SQLITE_STATIC);
    } else {
      st = bind(s, Q_DELETE, p, key, klen);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      busy(s, rc, err, n);
      check_txn(s, err, n);
      return LPLUG_EIO;
    }
    changed = sqlite3_changes(s->db) > 0;
  }
  if (old >= 0) {                       /* exact */
    p->storage_used = used - old + cost;
    p->storage_exact = 1;
  } else if (cost > 0) {                /* bound: as if the key were new */
    p->storage_used = used + cost;
    p->storage_exact = 0;
  } else if (changed) {
    p->storage_exact = 0;               /* smaller by an unknown amount */
  }
  s->writes++;
  p->storage_writes++;
  return LPLUG_OK;
}

int storage_set(storage *s, plugin *p, const char *key, size_t klen,
                const void *bytes, size_t len, char *err, size_t errsize) {
  int rc = check_key(key, klen, err, errsize);
  if (rc != LPLUG_OK) return rc;
  return write_entry(s, p, key, klen, bytes, len, err, errsize);
}

int storage_incr(storage *s, plugin *p, const char *key, size_t klen,
                 long long by, long long *out, char *err, size_t errsize) {
  lplug_value *v = plugin_scratch(p);
  long long n = 0;
  int found, rc;
  /* read inside the write transaction, or another process's increment
  ** between the read and the write would be lost */
  if ((rc = check_key(key, klen, err, errsize)) != LPLUG_OK ||
      (rc = begin_txn(s, err, errsize)) != LPLUG_OK)
    return rc;
  rc = storage_get(s, p, key, klen, v, &found, err, errsize);
  if (rc != LPLUG_OK) return rc;
  if (found) {
    if (lplug_value_type(v, 0) != LPLUG_TINTEGER) {
      snprintf(err, errsize, "the value under '%.*s' is not an integer",
               (int)klen, key);
      value_set_nil(v);
      return LPLUG_EINVAL;
    }
    n = lplug_value_integer(v, 0, NULL);
  }
  if ((by > 0 && n > LLONG_MAX - by) || (by < 0 && n < LLONG_MIN - by)) {
    snprintf(err, errsize, "'%.*s' would overflow (%lld + %lld)", (int)klen,
             key, n, by);
    value_set_nil(v);
    return LPLUG_EINVAL;
  }
  n += by;
  rc = value_set_integer(v, n);
  if (rc == LPLUG_OK) {
    size_t len;
    const void *bytes = lplug_value_bytes(v, &len);
    rc = write_entry(s, p, key, klen, bytes, len, err, errsize);
  }
  value_set_nil(v);
  *out = n;
  return rc;
}

/* Whether the key right after `after` (after with a 0 byte added) sorts
** after prefix: after is greater at the first byte they differ in, or
** starts with the whole prefix. */
static int after_passes_prefix(const char *after, size_t alen,
                               const char *prefix, size_t plen) {
  int c = memcmp(after, prefix, alen < plen ? alen : plen);
  return c > 0 || (c == 0 && alen >= plen);
}

int storage_keys(storage *s, plugin *p, const char *prefix, size_t plen,
                 const char *after, size_t alen, int limit,
                 void (*fn)(void *ud, const char *key, size_t len), void *ud,
                 int *more, char *err, size_t errsize) {
  sqlite3_stmt *st = s->q[Q_KEYS];
  char lower[STORAGE_MAX_KEY + 1], upper[STORAGE_MAX_KEY + 1];
  size_t llen, ulen = plen;
  int rc, got = 0;
  *more = 0;
  if (plen > STORAGE_MAX_KEY) return LPLUG_OK;  /* no key is that long */
  /* the table answers, so p's pending writes must be in it */
  if (s->nws > 0 && ws_holds(s, p) &&
      (rc = to_savepoints(s, err, errsize)) != LPLUG_OK)
    return rc;
  /* One range of the index, so that a page reads only its own keys: from
  ** the larger of prefix and the key right after `after` (after with a
  ** 0 byte added), up to the keys starting with prefix, which sort before
  ** prefix with its last byte that can grow grown by one; for "" or all
  ** 0xff bytes, before a key longer than any key can be. */
  if (after != NULL && alen <= STORAGE_MAX_KEY &&
      after_passes_prefix(after, alen, prefix, plen)) {
    memcpy(lower, after, alen);
    lower[alen] = 0;
    llen = alen + 1;
  } else {
    memcpy(lower, prefix, plen);
    llen = plen;
  }
  memcpy(upper, prefix, plen);
  while (ulen > 0 && (unsigned char)upper[ulen - 1] == 0xff) ulen--;
  if (ulen > 0) {
    upper[ulen - 1] = (char)((unsigned char)upper[ulen - 1] + 1);
  } else {
    memset(upper, 0xff, sizeof upper);
    ulen = sizeof upper;
  }
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, plugin_name(p), -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, llen ? lower : "", (int)llen, SQLITE_STATIC);
  sqlite3_bind_blob(st, 3, upper, (int)ulen, SQLITE_STATIC);
  sqlite3_bind_int(st, 4, limit + 1);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (got == limit) {
      *more = 1;
      break;
    }
    fn(ud, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    got++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    fail(s->db, LPLUG_EIO, err, errsize, "read failed");
    check_txn(s, err, errsize);
    return LPLUG_EIO;
  }
  return LPLUG_OK;
}
