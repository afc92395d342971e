/*
** storage.h -- the plugins' key-value storage, kept in SQLite.
**
** One table holds every plugin's entries, keyed by (plugin name, key);
** a plugin reaches only its own rows because the engine, never the
** plugin, supplies the name.  A file database runs in WAL mode with
** synchronous=NORMAL: a committed write survives the process being
** killed; ":memory:" (or no path) keeps everything in memory.
**
** Writes are atomic per plugin call.  A call's writes first wait in
** memory, in the write set: reads of the call (get, incr) see them
** there, and when the call returns normally they are written to the
** database; when it fails they are dropped, so a handler that writes and
** then errors leaves nothing.  Calls nest (a host callback may run hooks,
** of other plugins or of the same one): a nested call's writes join the
** write set of the call around it when it returns, and are undone with
** that call if it fails (events differ: a failed call takes back only
** its own plugin's, events_rollback).
**
** What the write set cannot answer moves it into the database under
** SQLite savepoints, one per running call (nested calls nest them), and
** the calls go on writing there: storage.keys of a plugin with pending
** writes, a write that might pass the quota (an exact count is needed),
** a recount of a plugin's usage, and a write set grown past
** STORAGE_WS_ENTRIES entries or STORAGE_WS_BYTES bytes.  A savepoint is
** released when its call returns normally and rolled back when it fails.
** Either way the outcome is the same; the write set only saves the
** savepoints' cost in the common case.
**
** Every write, pending or not, happens inside one transaction, begun at
** the call's first write (so "busy" is said by the write itself).  With
** storage_batch_ms = 0 it commits when the outermost call ends (a failed
** commit fails that call); with a batch time it stays open across calls
** and commits once that many milliseconds have passed since it began
** (checked when a call ends), on lplug_storage_flush and when the engine
** is freed.  A write set is never older than the call running it, so a
** crash loses no more than the batch setting allows.
*/
#ifndef LPLUG_STORAGE_H
#define LPLUG_STORAGE_H

#include <stddef.h>
#include "lplug.h"

/* What an entry costs against a quota beyond its key and encoded value
** (the row's share of the database's own bookkeeping). */
#define STORAGE_ENTRY_OVERHEAD 32

/* Keys are 1 to STORAGE_MAX_KEY bytes. */
#define STORAGE_MAX_KEY 1024

/* The default page size of storage.keys, and its most. */
#define STORAGE_KEYS_DEFAULT 100
#define STORAGE_KEYS_MAX 1000

typedef struct storage storage;
typedef struct plugin plugin;

/* The most a write set holds before it moves into savepoints: its
** lookups are a scan, and it is a copy of what waits. */
#define STORAGE_WS_ENTRIES 64
#define STORAGE_WS_BYTES (64 * 1024)

/* How a call's writes can be undone: not written yet; waiting in the
** write set from the frame's mark on; under a savepoint of its own; or
** lost: SQLite rolled the whole transaction back after a failure (I/O,
** a full disk), savepoint included, and the call must fail. */
enum { STORAGE_UNDO_NONE, STORAGE_UNDO_SET, STORAGE_UNDO_SAVEPOINT,
       STORAGE_UNDO_LOST };

/* One plugin call's place in the nesting of calls (storage_enter fills
** it; it lives on the caller's stack).  Along the nesting, outermost
** first, modes run (SAVEPOINT or LOST)*, SET*, NONE*: a write opens the
** undo of its call and of every call around it. */
typedef struct storage_frame {
  struct storage_frame *outer;
  plugin *plugin;
  int undo;                   /* STORAGE_UNDO_* */
  int fresh;                  /* got its savepoint in the move under way */
  size_t mark;                /* write-set entries when the call began */
  long long used;             /* the plugin's usage when undo was opened */
  int used_exact;             /* and whether that was exact or a bound */
  int used_current;           /* and whether it was known at all */
  unsigned long long epoch;   /* the storage's epoch then */
  unsigned long long writes;  /* the storage's write count then */
  unsigned long long used_writes; /* and the plugin's */
} storage_frame;

/* Opens (creating if needed) the database at `path` (NULL or ":memory:"
** for memory).  Returns LPLUG_OK, or LPLUG_EIO / LPLUG_ENOMEM with a
** message in err. */
int storage_open(storage **out, const char *path, int batch_ms, char *err,
                 size_t errsize);

/* Commits what is pending and closes; NULL is fine. */
void storage_close(storage *s);

/* Around every plugin call (plugin_call): enter pushes f, leave pops it,
** keeping or undoing its writes (`failed`) and committing when the
** outermost call ends and the batch is due.  leave returns LPLUG_OK, or
** LPLUG_EIO with a message in err when the call's writes could not be
** written (they are undone: the call must fail) or the commit failed (the
** transaction is then rolled back). */
void storage_enter(storage *s, storage_frame *f, plugin *p);
int storage_leave(storage *s, storage_frame *f, int failed, char *err,
                  size_t errsize);

/* Forgets every plugin's cached usage (counted again when needed). */
void storage_forget_usage(storage *s);

/* Commits the open transaction, if any, and no call is running. */
int storage_flush(storage *s, char *err, size_t errsize);

/* The operations of the running call's plugin p (the innermost frame).
** Each returns LPLUG_OK or an error code with a message in err:
** LPLUG_EINVAL (bad key), LPLUG_EFULL (over quota), LPLUG_EIO (the
** database failed or stayed busy), LPLUG_EPARSE (a stored value is not
** well formed), LPLUG_ENOMEM. */

/* The encoded value of `key` copied into out; *found = 0 when absent. */
int storage_get(storage *s, plugin *p, const char *key, size_t klen,
                lplug_value *out, int *found, char *err, size_t errsize);
/* Stores the len bytes of an encoded value (engine/value.h; not checked:
** the caller made them) under key; bytes NULL deletes. */
int storage_set(storage *s, plugin *p, const char *key, size_t klen,
                const void *bytes, size_t len, char *err, size_t errsize);
/* Adds `by` to the integer under key (absent counts as 0) into *out;
** LPLUG_EINVAL when the stored value is not an integer or would
** overflow. */
int storage_incr(storage *s, plugin *p, const char *key, size_t klen,
                 long long by, long long *out, char *err, size_t errsize);

/* Calls fn for up to `limit` keys of p that start with `prefix` and sort
** after `after` (NULL: from the first), in byte order; *more is set when
** keys remain past the last one given. */
int storage_keys(storage *s, plugin *p, const char *prefix, size_t plen,
                 const char *after, size_t alen, int limit,
                 void (*fn)(void *ud, const char *key, size_t len), void *ud,
                 int *more, char *err, size_t errsize);

/* Bytes p's entries cost against its quota, exact (counted again when
** only a bound is known, after moving the write set into savepoints if
** it holds writes of p); -1 when the database cannot tell. */
long long storage_used(storage *s, plugin *p);
/* The rows storage_used read for p during p's calls since the last take
** (a recount reads every entry of p): what lplug.storage charges. */
unsigned long long storage_take_scanned(plugin *p);

#endif
