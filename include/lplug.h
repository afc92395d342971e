/*
** lplug.h -- the one public header of lplug, a sandboxed Lua plugin engine.
**
** A host creates an engine, defines hook points, loads plugin folders and
** runs hooks with values.  Every plugin lives in its own Lua 5.4 state with
** a memory budget and a per-call CPU limit (an instruction budget, a
** wall-clock deadline, or both: see lplug_config); values cross between
** the host and a plugin only as copies (see "Values").
**
** Conventions, valid for every function below:
**   - Functions that can fail return LPLUG_OK (0) or a negative LPLUG_E*
**     code; the engine keeps a message for the last failure, read with
**     lplug_errmsg().  Nothing in the library calls exit() or abort().
**   - Strings returned as `const char *` are owned by the library; each
**     function says how long they stay valid.  Buffers the caller must free
**     say so and are freed with lplug_free().
**   - Every lplug_*_free function accepts NULL and then does nothing.
**   - NULL where a handle, a required string or an output pointer is
**     expected never crashes: the function returns LPLUG_EINVAL (or
**     LPLUG_ENOTFOUND where it looks a name up), NULL, 0 or does nothing,
**     as its return type allows.  So lplug_hook_handlers(lplug_hook_find(
**     e, "undefined")) is 0.  Where NULL means something else, the
**     function says so.
**   - Threads: see the "Threads" section just below.
**   - No macro is needed to call any function (the LuaJIT binding declares
**     the same functions with ffi.cdef).
*/
#ifndef LPLUG_H
#define LPLUG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lplug_engine lplug_engine;

/*
** {==================================================================
** Threads
**
** Who may call what, and from which thread:
**   - Different engines may be used on different threads at the same
**     time, with no locking by the caller.
**   - One engine, and everything made from it (its hook handles, the
**     lplug_value results it writes), is used by one thread at a time.
**     A host sharing an engine between threads serializes its calls with
**     a lock of its own; callbacks (on_error, on_log, event subscribers,
**     ...) run on the thread that made the call, inside it.
**   - Values and builders that belong to no engine may be used on any
**     thread, each by one thread at a time.  Functions that take no engine
**     and no value (lplug_version, lplug_strerror, lplug_errname,
**     lplug_state_name, lplug_grant_declared) may be called from any
**     thread at any time.
**   - The process-wide bytecode cache (plugin files are compiled once per
**     process and shared by every engine) is guarded by a mutex: engines
**     on different threads loading the same plugins are safe.
**   - Deadline mode (lplug_config.time_limit) starts one watchdog thread
**     per engine, which sends SIGURG to the thread running a late call;
**     threads calling such an engine must not block SIGURG.
**   - Plugin code runs on the caller's thread and its C stack: call into
**     the engine from a thread with at least 1 MB of stack.
** ===================================================================
*/

/* }================================================================== */

/*
** {==================================================================
** Version
** ===================================================================
*/
#define LPLUG_VERSION_MAJOR 0
#define LPLUG_VERSION_MINOR 1
#define LPLUG_VERSION_PATCH 0

/* "MAJOR.MINOR.PATCH" of the linked library; a static string. */
const char *lplug_version(void);

/* MAJOR * 10000 + MINOR * 100 + PATCH of the linked library. */
int lplug_version_number(void);

/* The sizes and counts manifests and settings files take, for hosts that
** take them too: a size is "512", "256KB", "4MB", "1GiB" (KB/MB/GB and
** KiB/MiB/GiB are powers of 1024, also K/M/G and B), a count "1000",
** "5K", "10M", "1G" (powers of 1000).  Each returns 1 and stores a value
** greater than 0, or 0 for malformed or overflowing text. */
int lplug_parse_size(const char *text, size_t *out);
int lplug_parse_count(const char *text, long long *out);

/* }================================================================== */


/*
** {==================================================================
** Errors
** ===================================================================
*/

/* One list makes the codes, their names and their descriptions. */
#define LPLUG_ERRNO_MAP(XX)                                                 \
  XX(EINVAL,    -1, "invalid argument")                                     \
  XX(ENOMEM,    -2, "out of memory in the host")                            \
  XX(ENOTFOUND, -3, "no such plugin, hook or file")                         \
  XX(EEXIST,    -4, "already exists")                                       \
  XX(EMANIFEST, -5, "invalid plugin manifest")                              \
  XX(ELOAD,     -6, "plugin code failed to load")                           \
  XX(ERUNTIME,  -7, "plugin raised an error")                               \
  XX(ECPU,      -8, "plugin exceeded its instruction budget or time limit") \
  XX(EMEM,      -9, "plugin exceeded its memory budget")                    \
  XX(EVALUE,   -10, "value cannot cross between states")                    \
  XX(EPARSE,   -11, "malformed input")                                      \
  XX(EDENIED,  -12, "capability not granted")                               \
  XX(EIO,      -13, "input/output error")                                   \
  XX(ESTATE,   -14, "plugin is not in a state to run")                      \
  XX(EFULL,    -15, "event queue is full")                                  \
  XX(EDEPEND,  -16, "plugin dependencies are not met")                      \

enum lplug_errno {
  LPLUG_OK = 0,
#define LPLUG_XX_(name, code, text) LPLUG_##name = code,
  LPLUG_ERRNO_MAP(LPLUG_XX_)
#undef LPLUG_XX_
  LPLUG_ERRNO_MIN_ = -17
};

/* A static description of `code` ("plugin exceeded its memory budget");
** unknown codes get "unknown error". */
const char *lplug_strerror(int code);

/* The static name of `code` ("EMEM", "OK"); unknown codes get "UNKNOWN". */
const char *lplug_errname(int code);

/* }================================================================== */


/*
** {==================================================================
** Values
**
** A value is what crosses between the host and a plugin: nil, a boolean,
** an integer, a float, a string, or a table whose keys are booleans,
** numbers or strings and whose values are any of these (tables nest up
** to LPLUG_MAX_DEPTH levels).  Functions, userdata, threads and cycles
** never cross.  A value is stored in one compact encoded buffer; every
** copy into or out of a plugin goes through that encoding.
**
** Positions: reading functions take `at`, the byte position of a value
** inside the buffer.  The whole value is at position 0; lplug_value_field,
** lplug_value_index and lplug_value_next give the positions of the parts
** of a table.  Positions stay valid until the value is changed or freed.
** ===================================================================
*/

#define LPLUG_MAX_DEPTH 100

typedef struct lplug_value lplug_value;
typedef struct lplug_builder lplug_builder;

enum lplug_type {
  LPLUG_TNONE = -1,   /* not a valid position */
  LPLUG_TNIL = 0,
  LPLUG_TBOOLEAN = 1,
  LPLUG_TINTEGER = 2,
  LPLUG_TFLOAT = 3,
  LPLUG_TSTRING = 4,
  LPLUG_TTABLE = 5
};

/* A new value holding nil; NULL when out of memory.
** The caller frees it with lplug_value_free(). */
lplug_value *lplug_value_new(void);
void lplug_value_free(lplug_value *v);

/* A deep copy of `v`; NULL when out of memory.  Free with
** lplug_value_free(). */
lplug_value *lplug_value_copy(const lplug_value *v);

/* Parses JSON text into a new value stored in *out (freed by the caller
** with lplug_value_free).  Objects become tables with string keys, arrays
** become sequences (1-based), null becomes nil, numbers without fraction
** or exponent that fit in 64 bits become integers.  Text that is not
** UTF-8 (overlong forms included) and a key given twice in one object are
** errors.  Returns LPLUG_OK, LPLUG_EPARSE (message names line:column;
** *out is NULL), LPLUG_EINVAL (json or out NULL) or LPLUG_ENOMEM.  `e`
** may be NULL; when given, the message
** is kept for lplug_errmsg(e). */
int lplug_value_from_json(lplug_engine *e, const char *json,
                          size_t len, lplug_value **out);

/* JSON text for `v`, NUL-terminated, length in *len (if len is not NULL).
** Sequences become arrays, other tables objects (non-string keys written
** as strings: 1 as "1").  NULL with errno EINVAL when `v` holds what JSON
** cannot: NaN or an infinity, a string that is not UTF-8 (binary data),
** or keys such as 1 and "1" that would both be written "1" (nothing is
** written as null or changed instead); NULL with errno ENOMEM when out
** of memory.  The caller frees the text with lplug_free(). */
char *lplug_value_to_json(const lplug_value *v, size_t *len);

/* The encoded bytes of `v` and their number in *len; valid until v is
** changed or freed.  lplug_value_from_bytes() reads them back. */
const void *lplug_value_bytes(const lplug_value *v, size_t *len);

/* Checks untrusted encoded bytes and copies them into a new value in
** *out.  Returns LPLUG_OK, LPLUG_EPARSE (malformed, too deep, a table
** holding one key twice as Lua counts keys: 1, 1.0 and array index 1 are
** one key, an entry whose value is nil is none; *out NULL),
** LPLUG_EINVAL (bytes or out NULL) or LPLUG_ENOMEM.  Never reads outside
** [bytes, bytes + len). */
int lplug_value_from_bytes(const void *bytes, size_t len, lplug_value **out);

/* The type of the value at `at`: a position from 0, lplug_value_field,
** lplug_value_index or lplug_value_next.  Any other offset gives
** LPLUG_TNONE or some type, and the readers below never read outside the
** value there (a string they return is always NUL terminated). */
int lplug_value_type(const lplug_value *v, size_t at);

/* Scalars at `at`.  A boolean reads as 0 or 1; integer and float read
** each other's values when exact (*ok, if not NULL, tells whether the
** read succeeded); a string reads as a pointer into the value, NUL
** terminated, with its length in *len (embedded NULs are kept), or NULL
** when the value at `at` is not a string. */
int lplug_value_boolean(const lplug_value *v, size_t at);
long long lplug_value_integer(const lplug_value *v, size_t at, int *ok);
double lplug_value_float(const lplug_value *v, size_t at, int *ok);
const char *lplug_value_string(const lplug_value *v, size_t at, size_t *len);

/* Table access.  lplug_value_field finds the string key `key` in the
** table at `at` and lplug_value_index the integer key `i`; both store
** the position of the value found in *out and return 1, or return 0
** (not a table, or no such key).  Lookups scan the table: O(entries). */
int lplug_value_field(const lplug_value *v, size_t at, const char *key,
                      size_t *out);
int lplug_value_index(const lplug_value *v, size_t at, long long i,
                      size_t *out);

/* Iterates over the table at `at`: set *iter to 0, then each call that
** returns 1 stores the positions of the next key and value.  Returns 0
** when done or when `at` is not a table.  Keys 1..n of a sequence take no
** bytes: their positions are not byte offsets, but every reading function
** accepts them (they read as the integer key). */
int lplug_value_next(const lplug_value *v, size_t at, size_t *iter,
                     size_t *key, size_t *val);

/* Number of entries of the table at `at` (0 if not a table). */
size_t lplug_value_count(const lplug_value *v, size_t at);

/*
** Builders write a value front to back without parsing anything:
**
**   lplug_builder *b = lplug_builder_new();
**   lplug_build_table(b);
**     lplug_build_string(b, "line", 4);  lplug_build_string(b, "hi", 2);
**     lplug_build_string(b, "n", 1);     lplug_build_integer(b, 1);
**   lplug_build_end(b);
**   lplug_builder_finish(b, v);          (v now holds {line="hi", n=1})
**
** Inside a table, calls alternate key, value, key, value.  A builder
** remembers the first misuse (a nil or NaN key, a table as a key, a key
** given twice in one table -- 5 and 5.0, or an index of the sequence
** given again, count as the same key, as in Lua; a key whose value was
** nil counts as never given -- an end without a table, nesting past
** LPLUG_MAX_DEPTH, out of memory) and lplug_builder_finish reports it.
** One builder can make many values.
*/
lplug_builder *lplug_builder_new(void);   /* NULL when out of memory */
void lplug_builder_free(lplug_builder *b);

void lplug_build_nil(lplug_builder *b);
void lplug_build_boolean(lplug_builder *b, int x);
void lplug_build_integer(lplug_builder *b, long long x);
void lplug_build_float(lplug_builder *b, double x);
void lplug_build_string(lplug_builder *b, const char *s, size_t len);
void lplug_build_table(lplug_builder *b);   /* opens a table */
void lplug_build_end(lplug_builder *b);     /* closes the innermost table */

/* Moves the finished value into `v` (replacing what it held) and resets
** the builder.  Returns LPLUG_OK, or LPLUG_EINVAL (misuse, incomplete
** value) or LPLUG_ENOMEM, leaving `v` unchanged and resetting the
** builder. */
int lplug_builder_finish(lplug_builder *b, lplug_value *v);

/* Frees memory the library handed to the caller (JSON text, ...). */
void lplug_free(void *p);

/* }================================================================== */


/*
** {==================================================================
** Engine
** ===================================================================
*/

/* Called for every plugin failure: `plugin` is its name, `code` the
** LPLUG_E* code, `message` naming the plugin, the place (file:line) and
** the rule involved, `traceback` the Lua traceback or "".  Both may quote
** the plugin's own error text: untrusted, any byte (newlines, terminal
** escapes) but NUL; escape it before writing it where lines are read.
** The strings live until the callback returns, whatever it calls meanwhile;
** copy what it keeps.  A call it makes (refused or not) leaves
** lplug_errmsg as it was for the failure being reported. */
typedef void (*lplug_error_fn)(void *ud, const char *plugin, int code,
                               const char *message, const char *traceback);

enum lplug_log_level {
  LPLUG_LOG_DEBUG = 0,
  LPLUG_LOG_INFO = 1,
  LPLUG_LOG_WARN = 2,
  LPLUG_LOG_ERROR = 3
};

/* Called for warnings (an unknown manifest key, ...), for lplug.log's
** messages and for what plugins print (LPLUG_LOG_INFO).  `plugin` is NULL
** for the engine's own messages.  A plugin's `message` is its text,
** untrusted: any byte but NUL (a NUL byte arrives as the two characters
** \0), newlines and terminal escapes included, at most 4 KB and then
** "... (cut)"; escape it before writing it where lines are read (the
** lplug command does).  Each plugin gets 100 messages at once and 50 a
** second through (print and lplug.log together); the count of those
** dropped comes in a message of its own, at most once a second (with a
** later message, as the call ends, or when the plugin goes).  The
** callback's time does not count toward instruction mode's backstop. */
typedef void (*lplug_log_fn)(void *ud, int level, const char *plugin,
                             const char *message);

/* Called when a plugin changes state (see "Plugin lifecycle"): `from`
** is 0 for a plugin being loaded; `reason` says why, in one line. */
typedef void (*lplug_state_fn)(void *ud, const char *plugin, int from,
                               int to, const char *reason);

/* Decides whether plugin `plugin` may have `capability` ("hooks", ...)
** and, when `item` is not NULL, one item of it (a hook name).  The engine
** asks only about what the plugin's manifest declares, so a plugin gets
** what it declares and the host grants.  Return 1 to grant, 0 to refuse
** (the plugin's call fails with a message saying the host refused). */
typedef int (*lplug_grant_fn)(void *ud, const char *plugin,
                              const char *capability, const char *item);

/* A grant function that grants whatever a manifest declares: for hosts
** whose operator chose the plugins (the lplug command does this when no
** host config says otherwise). */
int lplug_grant_declared(void *ud, const char *plugin, const char *capability,
                         const char *item);

/* Settings of an engine.  Zero means "the default" for every number.
** The limits are ceilings: a plugin's manifest may ask for less, never
** more (asking for more is a load error).
**
** CPU limits.  Each call into a plugin (its main chunk, each handler) may
** be limited by instructions, by time, or by both:
**   - instruction mode (time_limit 0, the default): a count hook counts
**     every call's VM instructions; a plugin runs about 2x slower in
**     loops, and is stopped after instruction_limit of them.
**   - deadline mode (time_limit set, instruction_limit 0): no hook runs
**     while a call is on time.  An engine thread (started with the first
**     such plugin) watches the calls; when one passes time_limit it
**     sends SIGURG to the thread running it, whose handler arms the count
**     hook.  A call is never stopped before time_limit, and at most
**     an eighth of it later (plus scheduling delay): the watchdog wakes
**     eight times per shortest limit while calls are made, and sleeps
**     when none are.  The thread calling the
**     engine must not block SIGURG; a host handler of SIGURG installed
**     before is still called (with extra signals).
**   - both (time_limit and instruction_limit set): the count hook runs
**     and the deadline is kept as well; whichever passes first stops the
**     call.
** Instruction mode keeps a wall-clock backstop: a few operations take
** time in proportion to a string's size inside one VM instruction
** (comparing long strings, for one), so an instruction budget alone does
** not bound a call's time.  A call still running, after its first 100
** instructions, 1 us per instruction of its budget and at least 5 s
** (LPLUG_BACKSTOP_PER_INSTRUCTION, LPLUG_BACKSTOP_MIN) is stopped with
** LPLUG_ECPU.  The clock is read at the end of the first 100
** instructions, then once per 1000 charged, so short calls never read it;
** time the call waits in the host (callbacks, a locked database) does not
** count; no thread or signal is involved.
** time_limit < 0 turns it off (pure instruction mode); a host time limit
** replaces it with the tighter deadline (a manifest's limits.time does
** not: the plugin chose it).
** Either way the stop cannot be caught (pcall, coroutines, __close) and
** the call fails with LPLUG_ECPU; the message names the limit.  Standard
** C functions whose work grows with their arguments (pattern matching,
** string.rep, table.sort, ...) pay for it as they go, so they are
** stopped too (docs/security.md, "Long C functions").  Manifests choose within the ceilings: limits.time
** (a plugin may add a deadline the host does not set) and
** limits.instructions (likewise, under a host without an instruction
** limit). */
typedef struct lplug_config {
  size_t memory_limit;              /* bytes per plugin state; 4 MB.
                                       Counts its objects; one that
                                       would pass it first makes Lua
                                       collect its garbage (charged as
                                       collectgarbage) and try again.
                                       The host may hold up to about
                                       twice that for it (freed small
                                       blocks are kept for reuse:
                                       docs/security.md) */
  long long instruction_limit;      /* VM instructions per call; 10M, or
                                       none when time_limit is set */
  long long time_limit;             /* ns of wall-clock time per call (50
                                       ms: 50000000); 0: none (instruction
                                       mode, with its backstop); < 0:
                                       none, and no backstop */
  lplug_error_fn on_error;          /* NULL: failures only counted */
  lplug_log_fn on_log;              /* NULL: messages dropped */
  void *ud;                         /* passed to every callback here */
  lplug_grant_fn grant;             /* NULL: nothing is granted */
  int event_queue;                  /* most events queued at once; 10000 */
  size_t event_queue_bytes;         /* most payload bytes queued; 16 MB */
  /* lplug.storage (see "Storage" below) */
  const char *storage_path;         /* SQLite file (copied); NULL: in
                                       memory */
  size_t storage_quota;             /* bytes per plugin; 1 MB */
  int storage_batch_ms;             /* 0: commit as each call ends */
  /* plugin lifecycle (see "Plugin lifecycle" below) */
  lplug_state_fn on_state;          /* NULL: not told */
  int failure_limit;                /* failed calls in a row that disable
                                       a plugin; 10; < 0: never */
} lplug_config;

#define LPLUG_DEFAULT_MEMORY_LIMIT (4u * 1024u * 1024u)
#define LPLUG_DEFAULT_INSTRUCTION_LIMIT 10000000LL
/* Instruction mode's backstop: 10 s for the default 10M instructions,
** some 200 times what they take. */
#define LPLUG_BACKSTOP_PER_INSTRUCTION 1000LL        /* ns */
#define LPLUG_BACKSTOP_MIN 5000000000LL              /* ns: 5 s */
#define LPLUG_DEFAULT_EVENT_QUEUE 10000
#define LPLUG_DEFAULT_EVENT_QUEUE_BYTES (16u * 1024u * 1024u)
#define LPLUG_DEFAULT_STORAGE_QUOTA (1024u * 1024u)
#define LPLUG_DEFAULT_FAILURE_LIMIT 10

/* A new engine with a copy of `config` (NULL for all defaults); NULL when
** out of memory.  Free it with lplug_engine_free(), which closes every
** plugin state; never from one of the engine's callbacks (the engine is
** in use then: call it after the engine's function returns). */
lplug_engine *lplug_engine_new(const lplug_config *config);
void lplug_engine_free(lplug_engine *e);

/* The message of the engine's last failure ("" when none); valid until
** the next call on the engine. */
const char *lplug_errmsg(const lplug_engine *e);

/* }================================================================== */


/*
** {==================================================================
** Plugins
** ===================================================================
*/

/* Loads the plugin in folder `dir` (which holds plugin.yaml): parses the
** manifest, creates its sandboxed state and runs its main file under its
** budgets.  Returns LPLUG_OK; LPLUG_EMANIFEST, LPLUG_ELOAD, LPLUG_ERUNTIME,
** LPLUG_ECPU, LPLUG_EMEM (the plugin is not loaded, nothing of it stays
** registered); LPLUG_EEXIST (a plugin of that name is loaded);
** LPLUG_ESTATE from inside a plugin call (a host callback during a hook
** run or an event delivery: the new plugin's main file would run in the
** middle of it; lplug_load_dirs too) or from a callback the engine makes
** while it loads, unloads or reloads a plugin (see lplug_plugin_unload);
** LPLUG_EDEPEND (its `lplug:` or `depends:` are not met by this library
** and the plugins loaded now, or a loaded plugin declares it
** incompatible; see lplug_load_dirs); LPLUG_EIO; LPLUG_ENOMEM.  Define
** hook points before loading plugins that use them, and load a plugin's
** dependencies before it. */
int lplug_load_plugin(lplug_engine *e, const char *dir);

/* Loads every plugin folder directly under `dir`: lplug_load_dirs with
** one folder. */
int lplug_load_dir(lplug_engine *e, const char *dir);

/* Loads every plugin folder directly under each of the `n` folders
** `dirs` as one set (a plugin folder holds plugin.yaml; links to folders
** count, names starting with '.' do not; a folder without plugin.yaml is
** skipped with a warning).  A folder of `dirs` that holds plugin.yaml
** itself is that one plugin of the set.  A plugin folder reached twice
** (a folder given twice, or through a link, or a plugin's folder beside
** the folder holding it) is read once.  For many plugins this is cheaper than
** lplug_load_plugin on each: each of `dirs` is resolved once, not each
** plugin's path.  Every manifest is read first; then each plugin
** loads after the plugins of the set it depends on (its manifest's
** `depends:`, required or optional), and among plugins ready together the
** smallest name first, so the order is the same however folders list.
** A plugin fails, and is reported to on_error and skipped, when its
** manifest is invalid, its name is taken (the first folder holding it
** wins), its `lplug:` range does not take this library's version, a
** plugin it needs is missing, failed to load or has a version its range
** does not take, an optional one present has such a version, a plugin it
** declares incompatible ("! name") is loaded or in the set, or it is on
** a dependency cycle (the message names the chain: "a -> b -> a").  The
** others load.  An optional dependency that failed only costs a warning.
** Returns LPLUG_OK when all loaded, else the code of the first failure
** reported (lplug_errmsg names it; dependency failures are
** LPLUG_EDEPEND); LPLUG_EIO, loading nothing, when a folder cannot be
** read; LPLUG_EINVAL; LPLUG_ENOMEM. */
int lplug_load_dirs(lplug_engine *e, const char *const *dirs, int n);

/* Number of loaded plugins, and the name of the i-th (0-based, load
** order; NULL when out of range).  Names live as long as the plugin. */
int lplug_plugin_count(const lplug_engine *e);
const char *lplug_plugin_name(const lplug_engine *e, int i);

/* The folder plugin `name` was loaded from (its realpath), or NULL.  The
** string lives as long as the plugin. */
const char *lplug_plugin_dir(const lplug_engine *e, const char *name);

/* Counters of one plugin since it was loaded. */
typedef struct lplug_stats {
  unsigned long long calls;          /* entries into plugin code */
  unsigned long long errors;         /* calls that failed, all kinds */
  unsigned long long runtime_errors; /* LPLUG_ERUNTIME */
  unsigned long long cpu_errors;     /* LPLUG_ECPU */
  unsigned long long memory_errors;  /* LPLUG_EMEM */
  unsigned long long value_errors;   /* LPLUG_EVALUE (bad results) */
  unsigned long long denials;        /* capabilities refused (declared or
                                        granted neither) */
  unsigned long long instructions;   /* VM instructions counted, see below */
  long long instruction_limit;       /* per call, after the manifest;
                                        0: none (deadline mode) */
  long long time_limit;              /* ns per call, after the manifest;
                                        0: none */
  long long backstop;                /* ns: instruction mode's wall-clock
                                        backstop (lplug_config); 0: none */
  size_t memory;                     /* bytes the state's objects take
                                        now (what the limit counts; freed
                                        small blocks kept for reuse are
                                        not: docs/security.md) */
  size_t memory_peak;                /* the most they ever took */
  size_t memory_limit;               /* after the manifest */
  long long storage_bytes;           /* what its entries cost against its
                                        quota; 0 without storage, -1 when
                                        the database cannot tell */
  size_t storage_quota;              /* after the manifest; 0 without */
} lplug_stats;

/* Fills *out with the counters of plugin `name`.  Instructions are
** counted in blocks of LPLUG_INSTRUCTION_BLOCK on a call's main thread (a
** block a call leaves unfinished is not counted) and charged whole on
** coroutines; in deadline mode they are not counted.  Returns LPLUG_OK or
** LPLUG_ENOTFOUND. */
int lplug_plugin_stats(const lplug_engine *e, const char *name,
                       lplug_stats *out);

#define LPLUG_INSTRUCTION_BLOCK 1000

/*
** Plugin lifecycle
**
** A plugin's main file may return a table of callbacks, each run as a
** call of its own under the plugin's budgets:
**
**   return {
**     init = function() end,          -- after the main file, at load
**     shutdown = function() end,      -- before unload and engine free
**     save = function() return state end,   -- the old version, on reload
**     restore = function(state) end,  -- the new version gets a copy
**   }
**
** States: a plugin being loaded is LOADED until its init returns, then
** ACTIVE.  A load that fails ends in FAILED and the plugin is gone (the
** others stay).  A DISABLED plugin keeps its state but none of its
** handlers or subscribers run; the host disables one, and so does the
** engine after config.failure_limit failed calls in a row (safe mode).
** UNLOADED is the end.  Each change is published as an event (payload
** {name, version, reason}): lplug.plugin.loaded, .failed, .disabled,
** .enabled, .unloaded, .reloaded; then it goes to config.on_state, so a
** change the host makes from on_state is published after the one it
** answers, and the last event tells the state the plugin is in.  Safe
** mode's reason (also logged as the engine's own error) says the plugin
** is disabled and that lplug_plugin_enable or a reload runs it again.
*/
enum lplug_plugin_state {
  LPLUG_STATE_LOADED = 1,
  LPLUG_STATE_ACTIVE = 2,
  LPLUG_STATE_FAILED = 3,
  LPLUG_STATE_DISABLED = 4,
  LPLUG_STATE_UNLOADED = 5
};

/* "loaded", "active", ...; "?" for anything else. */
const char *lplug_state_name(int state);

/* The state of plugin `name`, or LPLUG_ENOTFOUND.  Inside on_state the
** plugin being told about is found even while it loads (LOADED). */
int lplug_plugin_state(const lplug_engine *e, const char *name);

/* Disable and enable plugin `name` (enabling also forgets its failures in
** a row).  Return LPLUG_OK (also when it already was), LPLUG_ENOTFOUND, or
** LPLUG_ESTATE for a plugin still loading (from on_state's report of
** LOADED: change it when on_state reports it ACTIVE). */
int lplug_plugin_disable(lplug_engine *e, const char *name);
int lplug_plugin_enable(lplug_engine *e, const char *name);

/* Runs the plugin's shutdown (a failure is reported, and the unload goes
** on), drops its handlers and subscriptions and closes its state.  Returns
** LPLUG_OK, LPLUG_ENOTFOUND, or LPLUG_ESTATE when called from inside a
** plugin call, or from a callback the engine makes while it loads,
** unloads or reloads a plugin, changes a state or reports a failure
** (on_error, on_state, grant, on_log then): the engine is holding the
** plugin.  To drop a plugin that fails, disable it there (or set
** failure_limit) and unload it once the call has returned. */
int lplug_plugin_unload(lplug_engine *e, const char *name);

/* Loads plugin `name` again from its folder while the running version
** keeps serving: the new version's manifest, main file, init, then
** restore(a copy of what the old version's save returned).  Only when all
** of that succeeded does the new version replace the old one (its
** handlers and subscriptions take over at once; the old version's
** shutdown runs after).  If anything fails, what the new version did is
** undone (its registrations, events and storage writes), the old version
** keeps running, and the code and lplug_errmsg ("reload of 'NAME' failed;
** the running version stays: ...") say why; on_error is told under the
** plugin's name (a folder gone included).  Storage is kept;
** the plugin keeps its state (one the host disabled stays disabled; one
** safe mode disabled runs again, reported DISABLED to ACTIVE and
** published as lplug.plugin.enabled after .reloaded) and its
** statistics start afresh.  LPLUG_ESTATE where lplug_plugin_unload gives
** it.  What the old version's shutdown registers goes with it. */
int lplug_reload(lplug_engine *e, const char *name);

/* Sets the host's configuration of plugin `plugin` (by name), used when
** that plugin loads next: `values` is a table of key -> value overriding
** the defaults of its manifest's `config:` schema (NULL or nil forgets
** what was set; calling again replaces it).  The engine keeps a copy;
** `values` stays the caller's.  The values are checked when the plugin
** loads: a key the schema does not declare, a value of the wrong type,
** out of min/max or not in enum, or a required key left unset makes that
** load fail with LPLUG_EMANIFEST, naming the plugin and the key.
** Returns LPLUG_OK, LPLUG_EINVAL (no name, not a table, a key that is not
** a string), LPLUG_ESTATE (the plugin is loaded: a plugin's configuration
** is fixed while it runs) or LPLUG_ENOMEM. */
int lplug_plugin_configure(lplug_engine *e, const char *plugin,
                           const lplug_value *values);

/* }================================================================== */


/*
** {==================================================================
** Hooks
**
** A hook point is a name the host defines; plugins register handlers on
** it with hooks.on(name, fn, {priority = n, before = {...}, after =
** {...}}).  Running a hook passes a value through the handlers in this
** order: a handler with before = {"x"} runs before every handler of
** plugin x on that hook point, one with after = {"x"} after them (names
** of plugins not loaded or not on that hook point are ignored until such
** a handler registers); where constraints leave it open, higher priority
** first, then in the order they registered.  Constraints that contradict
** each other (a cycle) make the hooks.on that closes the cycle raise an
** error naming it, so that plugin fails to load.  The order is settled
** when a handler registers; running a hook costs the same either way.  A handler returning nil keeps the value, returning a
** value replaces it, returning hooks.STOP (alone or after a value) ends
** the chain.
** ===================================================================
*/

typedef struct lplug_hook lplug_hook;

enum lplug_hook_flags {
  /* A failing handler stops the run: lplug_hook_run returns its code and
  ** the value is left as it was before that handler.  Without this flag
  ** (fail-open) a failing handler is reported and skipped. */
  LPLUG_HOOK_FAIL_CLOSED = 1
};

/* Defines hook point `name` (1-64 bytes of [A-Za-z0-9_.:-]) with
** LPLUG_HOOK_* `flags`; stores its handle in *out if out is not NULL.
** The handle lives as long as the engine.  Returns LPLUG_OK, LPLUG_EINVAL
** (bad name or flags), LPLUG_EEXIST or LPLUG_ENOMEM. */
int lplug_hook_define(lplug_engine *e, const char *name, int flags,
                      lplug_hook **out);

/* The hook point `name`, or NULL when it is not defined.  O(1). */
lplug_hook *lplug_hook_find(lplug_engine *e, const char *name);

/* Runs the handlers of hook point `name` over `v`, which holds the
** result afterwards (a copy each plugin made; `v` stays owned by the
** caller).  Returns LPLUG_OK (fail-open hooks: failed handlers were
** reported and skipped), a handler's failure code (fail-closed hooks),
** or LPLUG_ENOTFOUND when no such hook point exists. */
int lplug_hook_run(lplug_engine *e, const char *name, lplug_value *v);

/* Same, with a handle from lplug_hook_define/lplug_hook_find. */
int lplug_hook_call(lplug_hook *h, lplug_value *v);

/* Number of handlers registered on `h`. */
int lplug_hook_handlers(const lplug_hook *h);

/* Number of hook points defined, and the i-th of them (0-based, in the
** order they were defined; NULL when out of range; O(i)). */
int lplug_hook_count(const lplug_engine *e);
lplug_hook *lplug_hook_at(lplug_engine *e, int i);

/* The name of `h`; lives as long as the engine. */
const char *lplug_hook_name(const lplug_hook *h);

/* One handler as registered: its plugin, priority and the plugin names
** of its before/after constraints. */
typedef struct lplug_handler_info {
  const char *plugin;
  int priority;
  const char *const *before;   /* nbefore names */
  int nbefore;
  const char *const *after;    /* nafter names */
  int nafter;
} lplug_handler_info;

/* Fills *out with the i-th handler of `h` in run order (0 to
** lplug_hook_handlers(h) - 1).  Returns LPLUG_OK or LPLUG_ENOTFOUND (out
** of range).  The strings live until that handler goes away (turned off,
** its plugin failed or unloaded); read them before loading more plugins
** or running hooks. */
int lplug_hook_handler_info(const lplug_hook *h, int i,
                            lplug_handler_info *out);

/* }================================================================== */


/*
** {==================================================================
** Events
**
** Topics are dot-separated words of [A-Za-z0-9_-:] ("counter.tick"), at
** most LPLUG_MAX_TOPIC bytes long (patterns too).
** Patterns may use `*` for one word, or at the end for one or more
** words ("alert.*" matches "alert.high" and "alert.high.cpu"); "*" alone
** matches every topic.  Emitting copies the payload into a bounded queue;
** lplug_dispatch delivers queued events to every subscriber whose pattern
** matches, in the order they were emitted.  Plugins subscribe with
** events.on(pattern, fn) and emit with events.emit(topic, payload), as
** their manifest declares (capabilities.events.on / .emit) and the host
** grants.  Events a plugin emitted during a call that failed are dropped
** with the call (the host's, emitted from callbacks meanwhile, and other
** plugins' stay).  The engine publishes each change of a plugin's state
** on the same bus (lplug.plugin.loaded, .failed, ...: see "Plugin
** lifecycle"), with the payload {name, version, reason}.
**
** A plugin's event handlers get a fresh budget per call, so one dispatch
** could otherwise cost a plugin's budget times every event queued times
** every subscription it has (10,000 x 256 calls).  Within one
** lplug_dispatch (dispatches the host makes from its callbacks included)
** a plugin's handlers may spend in total LPLUG_DISPATCH_BUDGETS times its
** per-call budget: instructions in instruction mode, each call counting
** LPLUG_INSTRUCTION_BLOCK more (what it may run uncounted), or time in
** deadline mode.  The call that crosses that ends normally; the plugin's
** deliveries after it in that dispatch are not made, and the first one
** refused is reported as an LPLUG_ECPU failure of the plugin (on_error,
** stats.errors and cpu_errors, safe mode).  The next dispatch starts
** afresh; a host dispatching one event at a time gives each its own.
** ===================================================================
*/

#define LPLUG_MAX_TOPIC 128
/* 100: a dispatch costs a plugin at most about as much as 100 calls of
** it.  That still leaves a plugin delivered a full default queue
** (10,000 events) 1% of its budget per event, far more than handlers
** that record or forward an event take (hundreds of instructions). */
#define LPLUG_DISPATCH_BUDGETS 100

/* A host subscriber: `payload` and the strings live until it returns;
** `source` is the emitting plugin's name, or NULL for the host. */
typedef void (*lplug_event_fn)(void *ud, const char *topic,
                               const lplug_value *payload,
                               const char *source);

/* Subscribes fn to `pattern`.  Returns a subscription id (> 0, never
** reused by the engine) for lplug_event_unsubscribe, or LPLUG_EINVAL (bad
** pattern or fn NULL) or LPLUG_ENOMEM.  Ids are 64-bit because plugins'
** events.on spend them too, as fast as a plugin can subscribe. */
long long lplug_event_subscribe(lplug_engine *e, const char *pattern,
                                lplug_event_fn fn, void *ud);

/* Ends subscription `id`; LPLUG_OK, or LPLUG_ENOTFOUND (an id that is
** not one of the host's live subscriptions). */
int lplug_event_unsubscribe(lplug_engine *e, long long id);

/* Queues a copy of `payload` (NULL for nil) under `topic`.  Returns
** LPLUG_OK, LPLUG_EINVAL (bad or too long topic), LPLUG_EFULL (the queue
** holds config.event_queue events or event_queue_bytes bytes: dispatch
** first; or the payload alone is larger than event_queue_bytes: it never
** fits) or LPLUG_ENOMEM. */
int lplug_event_emit(lplug_engine *e, const char *topic,
                     const lplug_value *payload);

/* Delivers queued events, oldest first: at most max_events of them, or
** when max_events <= 0 all those queued when the call began (events
** emitted while delivering wait for the next call).  A failing plugin
** subscriber is reported and the others still get the event; so is a
** plugin past its LPLUG_DISPATCH_BUDGETS allowance (above).  Returns the
** number of events delivered. */
int lplug_dispatch(lplug_engine *e, int max_events);

/* Number of events waiting in the queue. */
int lplug_event_pending(const lplug_engine *e);

/* }================================================================== */


/*
** {==================================================================
** Storage
**
** A plugin that declares capability `storage` (and is granted it) keeps
** key-value entries with lplug.storage.  Each plugin sees only its own
** entries, kept under its name in config.storage_path (a SQLite file in
** WAL mode, created when the first plugin with storage loads; NULL or
** ":memory:" keeps them in memory until the engine is freed).
**
** What a plugin call writes is kept only if the call returns normally: a
** handler that writes and then fails leaves nothing, and a call whose
** writes the database refuses as it ends fails (LPLUG_EIO) with none
** kept.  A call run from inside another (a host callback) keeps its
** writes only if the outer call keeps its own.  With
** storage_batch_ms = 0 every call's writes are committed as it ends, so
** they survive the process being killed.  With a batch time, commits are
** grouped: they happen when a call ends that long after the last one, on
** lplug_storage_flush and in lplug_engine_free -- faster, but a crash
** loses up to that much (never part of a call), and so does a failure
** that makes SQLite roll the transaction back (I/O, a full disk; the
** message of the call it fails says so).  An idle host with a
** batch time should call lplug_storage_flush from time to time.
**
** Each plugin's entries cost their keys, their encoded values and
** 32 bytes each against its quota: config.storage_quota, or less if its
** manifest asks (capabilities: { storage: { quota: 256KB } }; more than
** the host's is a load error).  Several processes may share one file; a
** plugin's quota then bounds its entries in the file, whichever process
** wrote them.
** ===================================================================
*/

/* Commits writes waiting in a batch.  Returns LPLUG_OK, or LPLUG_EIO
** (message in lplug_errmsg; the batch is lost); LPLUG_ESTATE when called
** from inside a plugin call. */
int lplug_storage_flush(lplug_engine *e);

/* }================================================================== */


/*
** {==================================================================
** Host settings file
**
** A host can keep its settings in a YAML file (the lplug command reads
** lplug.yaml):
**
**   plugins: [plugins, /opt/more-plugins]   # folders, relative to the file
**   limits: { memory: 4MB, instructions: 10M }  # or time: 50ms (deadline
**                                           # mode), or both
**   events: { queue: 10000, queue_bytes: 16MB }
**   storage: { path: lplug.db, quota: 1MB, batch: 0 } # see "Storage"
**   failure: open                           # or closed (lplug run's record)
**   disable_after: 10                       # failed calls in a row; never
**   grants:
**     "*":     { hooks: [record], log: {} } # every plugin
**     counter: { events: { emit: ["counter.*"] } }
**   config:                                 # per plugin: key: value
**     alert: { threshold: 50, mode: exact }
**
** A plugin's own entry decides each capability it names (`hooks: []` takes
** back what "*" gives); the "*" entry decides the others.  Entries have
** the shapes of a manifest's capabilities, and a plugin gets only what it
** also declares.  `config:` overrides the defaults of each plugin's
** `config:` schema (lplug_host_apply_config hands it to an engine); the
** values are checked against the schema when the plugin loads.
** ===================================================================
*/

typedef struct lplug_host lplug_host;

/* Reads the settings file at `path` into *out (free it with
** lplug_host_free).  Returns LPLUG_OK, LPLUG_EIO (path NULL too),
** LPLUG_EMANIFEST (the message in err, errsize bytes, names
** file:line:column and the field), LPLUG_ENOMEM, or LPLUG_EINVAL (out
** NULL); err may be NULL (then no message is written).  Unknown keys
** are errors here, and so are keys given twice: a
** typo in a security setting, or a second section overriding the first,
** must not pass unnoticed. */
int lplug_host_load(const char *path, lplug_host **out, char *err,
                    size_t errsize);
void lplug_host_free(lplug_host *h);

/* Copies the file's limits, queue sizes and storage settings into config
** (what the file does not set is left as it is; storage.path, resolved
** against the file's folder, lives as long as h). */
void lplug_host_configure(const lplug_host *h, lplug_config *config);

/* A grant function (lplug_config.grant) granting what h's `grants:` give;
** `ud` must be the lplug_host. */
int lplug_host_grant(void *ud, const char *plugin, const char *capability,
                     const char *item);

/* Hands the file's `config:` to e, as lplug_plugin_configure does for
** each plugin named there (messages about its values then name the
** file:line:column where each was set).  Call it before loading plugins.
** Returns LPLUG_OK or the first failure of lplug_plugin_configure
** (lplug_errmsg(e) says which). */
int lplug_host_apply_config(const lplug_host *h, lplug_engine *e);

/* Receives one problem found in plugins or settings, as one line (see
** lplug_host_unknown_plugins and lplug_check_plugin). */
typedef void (*lplug_problem_fn)(void *ud, const char *problem);

/* Calls fn (when not NULL) once for each entry of the file's `grants:`
** and `config:` that names a plugin not among the n names `plugins` (the
** plugins loaded; "*" never counts), with one line: "lplug.yaml:9:3:
** config: 'tager' names no plugin loaded here (...)".  A misspelt name
** would otherwise leave the defaults in force silently.  A warning, not
** an error: one file may serve runs over different plugin folders.
** Returns how many such entries there are, or LPLUG_EINVAL. */
int lplug_host_unknown_plugins(const lplug_host *h,
                               const char *const *plugins, int n,
                               lplug_problem_fn fn, void *ud);

/* The plugin folders listed (resolved against the file's folder), their
** number, and whether failure is "closed".  Strings live as long as h. */
int lplug_host_plugin_dirs(const lplug_host *h);
const char *lplug_host_plugin_dir(const lplug_host *h, int i);
int lplug_host_fail_closed(const lplug_host *h);

/* }================================================================== */


/*
** {==================================================================
** Plugin tests and checks (the lplug command's `test` and `check`)
**
** A spec is a Lua file (a plugin's spec/NAME_spec.lua) run in a sandboxed
** test host: a Lua 5.4 state like a plugin's, whose `require` sees the
** plugin's folder and one module, lplug.test, which loads plugins into
** engines of their own and drives them (docs/plugin-guide.md, "Testing").
** The spec declares tests with describe/it in the style of busted; each
** `it` runs as one call with its own instruction budget, so a run is
** deterministic and a test that loops forever fails instead of hanging.
** ===================================================================
*/

/* What became of one test.  A pending test (an `it` without a function,
** as in busted) did not run; it is not a failure. */
enum lplug_spec_result {
  LPLUG_SPEC_FAILED = 0,
  LPLUG_SPEC_PASSED = 1,
  LPLUG_SPEC_PENDING = 2
};

/* Called once per test: its full name ("redact masks e-mails"), what
** became of it (an lplug_spec_result), and why it failed
** ("spec/init_spec.lua:12: expected 1, got 2"; "" otherwise); the
** strings live until the callback returns. */
typedef void (*lplug_spec_fn)(void *ud, const char *test, int result,
                              const char *message);

typedef struct lplug_spec_options {
  long long instruction_limit;  /* per `it`, in the test host; 100M */
  size_t memory_limit;          /* of the test host state; 64 MB */
  lplug_spec_fn on_result;      /* NULL: only counted */
  lplug_log_fn on_log;          /* what the spec prints, as plugin "spec";
                                   NULL: dropped */
  void *ud;                     /* passed to both */
} lplug_spec_options;

/* Runs spec file `spec` (a path relative to `plugin_dir`, which is the
** folder of the plugin under test) and adds its tests to *passed and
** *failed (pending tests to neither: on_result counts them).  Returns LPLUG_OK when the spec ran (its tests may have
** failed); LPLUG_ELOAD, LPLUG_ERUNTIME, LPLUG_ECPU or LPLUG_EMEM when the
** file itself did not load or failed outside an `it` (the message, in
** err, names file:line; err may be NULL); LPLUG_EIO, LPLUG_ENOMEM.
** `options` may be NULL. */
int lplug_spec_run(const char *plugin_dir, const char *spec,
                   const lplug_spec_options *options, int *passed,
                   int *failed, char *err, size_t errsize);

/* lplug_problem_fn (see Host settings) is called once per problem
** lplug_check_plugin finds: one line, "file:line[:col]: message" at the
** place it is about ("file: message" when no line is); it lives until
** the callback returns. */

/* Checks plugin folder `dir` without a host: its manifest parses; every
** .lua file compiles; the code's literal uses of lplug modules agree
** with the manifest (require "lplug.x" of an undeclared capability,
** hooks.on of an unlisted hook point, events.emit / events.on of topics
** the lists do not cover); and the plugin loads, granted what it
** declares, with the `config:` of `host` (NULL: the defaults) checked
** against its schema.  Storage stays in memory.  Returns the number of
** problems (0: none), or LPLUG_EIO / LPLUG_ENOMEM / LPLUG_EINVAL (dir
** NULL). */
int lplug_check_plugin(const char *dir, const lplug_host *host,
                       lplug_problem_fn fn, void *ud);

/* Stores in name (size bytes, at least 65) the name plugin folder `dir`
** gives its plugin in plugin.yaml, without loading it: what a host
** checking folders passes to lplug_host_unknown_plugins.  Returns
** LPLUG_OK; LPLUG_EIO (no plugin.yaml), LPLUG_EMANIFEST (it does not
** parse; lplug_check_plugin says why), LPLUG_ENOMEM, LPLUG_EINVAL (a
** NULL argument, size too small); name is "" on failure. */
int lplug_manifest_name(const char *dir, char *name, size_t size);

/* }================================================================== */

#ifdef __cplusplus
}
#endif

#endif
