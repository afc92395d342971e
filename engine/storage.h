/*
** storage.h -- the plugins' key-value storage, kept in SQLite.
**
** One table holds every plugin's entries, keyed by (plugin name, key);
** a plugin reaches only its own rows because the engine, never the
** plugin, supplies the name.  A file database runs in WAL mode with
** synchronous=NORMAL: a committed write survives the process being
** killed; ":memory:" (or no path) keeps everything in memory.
**
** Writes are atomic per plugin call.  The first write of a call opens a
** savepoint; when the call returns normally the savepoint is released,
** when it fails the savepoint is rolled back, so a handler that writes
** and then errors leaves nothing.  Calls nest (a host callback may run
** hooks), and so do savepoints: an inner call's writes are undone with
** the outer call that contains them, as its events are.
**
** The savepoints live in one transaction.  With storage_batch_ms = 0 it
** commits when the outermost call ends (a failed commit fails that call);
** with a batch time it stays open across calls and commits once that many
** milliseconds have passed since it began (checked when a call ends), on
** lplug_storage_flush and when the engine is freed.
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

/* One plugin call's place in the nesting of calls (storage_enter fills
** it; it lives on the caller's stack). */
typedef struct storage_frame {
  struct storage_frame *outer;
  plugin *plugin;
  int savepoint;              /* a write of this call opened one */
  long long used;             /* the plugin's usage when it was opened */
  int used_exact;             /* and whether that was exact or a bound */
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
** releasing or rolling back its savepoint (`failed`) and committing when
** the outermost call ends and the batch is due.  leave returns LPLUG_OK,
** or LPLUG_EIO with a message in err when the commit failed (the
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
/* Stores v (nil deletes) under key. */
int storage_set(storage *s, plugin *p, const char *key, size_t klen,
                const lplug_value *v, char *err, size_t errsize);
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
** only a bound is known); -1 when the database cannot tell. */
long long storage_used(storage *s, plugin *p);

#endif
