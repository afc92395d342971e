/*
** sandbox.h -- one restricted Lua 5.4 state per plugin.
**
** A sandbox is a Lua state made with a limiting allocator (alloc.c), an
** allow-listed standard library (state.c, baselib.c, corolib.c), a safe
** require that sees only the plugin's folder and the modules the owner
** opens for it (require.c), a per-call instruction budget (budget.c) and
** a per-call wall-clock deadline kept by a watchdog thread (watchdog.c).
** The standard C functions that can run long pay for their work as they
** go (pattern.c, tablib.c, guards.c).
** Calls into the state go through sandbox_pcall, which arms the budgets,
** runs the call protected and classifies the outcome from the sandbox's
** own state, never from what the plugin returned or raised.
**
** The sandbox knows nothing of the engine: what it needs from its owner
** comes in through sandbox_config.
*/
#ifndef LPLUG_SANDBOX_H
#define LPLUG_SANDBOX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include <lauxlib.h>  /* luaL_Buffer, for baselib_addline */

/* Bytes the engine may use beyond a plugin's memory limit outside plugin
** calls (its own pushes between calls); documented in docs/security.md. */
#define SANDBOX_SLACK (16 * 1024)

/* Blocks up to this size come from the state's own arena (alloc.c). */
#define SANDBOX_SMALL_MAX 256

/* Instructions per budget block on a call's main thread (counted after
** the block runs) and on coroutines (charged before it runs). */
#define SANDBOX_BLOCK 1000
#define SANDBOX_COROUTINE_BLOCK 100
/* A call's first block with a backstop: its clock starts at the first
** block's end, and a short first block leaves less of the call untimed
** (calls shorter than it still read no clock). */
#define SANDBOX_FIRST_BLOCK 100

/* A full collection costs about one instruction per this many bytes of
** heap: what collectgarbage("collect") and an emergency collection
** (alloc.c) are charged. */
#define SANDBOX_HEAP_BYTES_PER_INSTRUCTION 8
#define SANDBOX_COLLECTION_COST(sb)                                         \
  ((long long)((sb)->used / SANDBOX_HEAP_BYTES_PER_INSTRUCTION))

/* Files a plugin may load with require: at most this many bytes each. */
#define SANDBOX_MAX_SOURCE (4 * 1024 * 1024)

enum sandbox_stop {
  SANDBOX_RUNNING = 0, SANDBOX_STOP_CPU, SANDBOX_STOP_MEM, SANDBOX_STOP_TIME,
  SANDBOX_STOP_BACKSTOP
};

/* How a call's allocations stand (alloc.c).  A call's first refused
** allocation is soft: Lua runs a full (emergency) collection and asks
** again, and only a second refusal is final.  In this order: fits()
** allows growth below SOFT. */
enum sandbox_refusal {
  SANDBOX_REFUSAL_NONE = 0,
  SANDBOX_REFUSAL_RETRIED,  /* Lua asked again: a refusal now is final */
  SANDBOX_REFUSAL_SOFT,     /* refused once; Lua should collect and retry */
  SANDBOX_REFUSAL_FINAL     /* the call stopped for memory */
};

typedef struct sandbox sandbox;
typedef struct watchdog watchdog;

/* The outcome of a sandbox's last failed call.  3.3 KB that only a plugin
** that fails needs (an engine may hold 10,000 plugins that never do), so
** it is allocated when the first failure writes to it and kept with the
** sandbox for the next ones.  Each sandbox has its own: a host callback
** inside plugin A's call can run plugin B, which fails, before A fails
** or reads its own. */
typedef struct sandbox_failure {
  char where[256];          /* "file:line" where a limit hit, or an error */
  char refused_at[256];     /* where the allocation awaiting Lua's second
                               try was refused (alloc.c), or "" */
  char message[1024];       /* the error, read raw from the error object */
  char traceback[2048];
} sandbox_failure;

/* What the owner provides.  The strings must outlive the sandbox. */
typedef struct sandbox_config {
  const char *name;         /* plugin name, prefixes chunk names */
  const char *dir;          /* plugin folder, resolved with realpath */
  size_t memory_limit;
  long long instruction_limit;  /* 0: none (no count hook unless late) */
  long long time_limit;         /* ns per call; 0: none */
  /* Instruction mode's wall-clock backstop (budget.c): ns a call may run
  ** after its first block of instructions; 0: none. */
  long long backstop;
  watchdog *watchdog;           /* keeps time_limit; outlives the sandbox */
  /* Pushes module lplug.<name> (e.g. "hooks") and returns 1, or raises
  ** an error saying why the plugin may not have it. */
  int (*open_module)(lua_State *L, const char *name, void *owner);
  /* Receives one line the plugin printed, made by baselib_addline: no
  ** NUL byte in it, at most SANDBOX_LINE_MAX bytes and a marker. */
  void (*print)(void *owner, const char *text);
  void *owner;
} sandbox_config;

struct sandbox {
  lua_State *L;
  sandbox_config config;
  /* memory (alloc.c) */
  size_t used, peak;
  struct {
    void *free[SANDBOX_SMALL_MAX / 16];  /* a free list per 16-byte class */
    char *next, *end;       /* the newest chunk's uncarved bytes */
    union arena_chunk *chunks;  /* newest first */
    size_t bytes;           /* in chunks, headers included */
    int full;               /* may not grow: small blocks may be malloc'd */
  } arena;
  int in_call;              /* inside sandbox_pcall: no slack */
  int refusal;              /* enum sandbox_refusal, for this call */
  struct {                  /* the allocation refused first, to know */
    void *ptr;              /* Lua's second try of it */
    size_t osize, nsize;
    size_t live;            /* the heap when the second try came, just
                               after Lua's emergency collection */
  } first_try;
  /* instruction budget (budget.c) */
  long long charged;        /* instructions charged in this call */
  int main_block;           /* size of the main thread's current block */
  int first_block;          /* its size when a call begins (0: deadline
                               mode); fixed by the limit, so computed once
                               in sandbox_open, not per call */
  int stop;                 /* enum sandbox_stop, sticky until next call */
  long long clock_start;    /* the call's first clock reading (backstop);
                               0: not read yet */
  long long clock_due;      /* `charged` at which to read it next */
  /* Both read by the deadline signal handler (budget_late), which may
  ** interrupt any statement of the thread running the call. */
  lua_State *volatile running;  /* thread the plugin runs on now */
  volatile sig_atomic_t late;   /* this call passed its deadline */
  int close_depth;          /* nested coroutine.close calls */
  /* An address on the C stack where the call began (corolib.c bounds the
  ** C stack a call uses from there). */
  uintptr_t stack_base;
  int stop_ref;             /* registry ref of the preallocated stop error */
  sandbox_failure *failure; /* the last failed call's outcome, made by the
                               first failure (sandbox_failure_of), or NULL */
};

/* Stack index of the message handler every call uses; it stays there
** for the life of the state (nothing may set the top below it). */
#define SANDBOX_MSGH 1

/* Creates the state.  Returns 0, or -1 with a message in err (out of
** memory, or a memory limit too small for the standard library). */
int sandbox_open(sandbox *sb, const sandbox_config *config, char *err,
                 size_t errsize);
void sandbox_close(sandbox *sb);

/* The sandbox a state (or any of its threads) belongs to. */
sandbox *sandbox_of(lua_State *L);

/* sb's failure record for writing, allocated on first use; NULL only when
** the host is out of memory (the call still fails with its code, but
** without these details). */
sandbox_failure *sandbox_failure_of(sandbox *sb);
/* What the last failed call left ("" for what it did not record). */
const char *sandbox_where(const sandbox *sb);
const char *sandbox_message(const sandbox *sb);
const char *sandbox_traceback(const sandbox *sb);

/* Runs f(ud) protected, under the budgets.  f finds ud as a light userdata
** at index 1 and returns nres results (a count, never LUA_MULTRET: the
** failure path drops them by count).  On success returns LPLUG_OK with
** the results on top of the stack (the caller pops them); on failure
** returns LPLUG_ERUNTIME, LPLUG_ECPU or LPLUG_EMEM with nothing pushed and
** sandbox_message, sandbox_where, sandbox_traceback describing it. */
int sandbox_pcall(sandbox *sb, lua_CFunction f, void *ud, int nres);

/* The same for a call whose function and nargs arguments the caller
** pushed (in that order) -- only values whose push cannot fail or run
** code: scalars, a function from the registry.  Saves the C function in
** between, which is most of the cost of a small call.  Pops them. */
int sandbox_pcall_pushed(sandbox *sb, int nargs, int nres);

/* Loads file `rel` of the plugin folder as a text chunk and pushes it
** (raises on failure: outside the folder, missing, too big, syntax). */
void sandbox_loadfile(lua_State *L, const char *rel);
/* The same for the main file, loaded in the call that made the sandbox
** (config.dir was just resolved): a file directly in the folder is
** checked with one lstat instead of realpath's walk. */
void sandbox_loadmain(lua_State *L, const char *rel);

/* chunkcache.c: pushes the chunk compiled from text `src` named `name`,
** reusing the bytecode of an earlier compile of the same name and text
** in this process; returns lua_load's status (an error message pushed).
** chunkcache_counts reads how many loads were served from it, and not. */
#define SANDBOX_CHUNK_CACHE_BYTES (32u * 1024u * 1024u)
int chunkcache_load(lua_State *L, const char *src, size_t slen,
                    const char *name);
void chunkcache_counts(unsigned long long *hits, unsigned long long *misses);

/* alloc.c */
void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/* Makes the soft refusal awaiting Lua's second try final: the call stops
** for memory, said where the refusal was (see alloc.c). */
void sandbox_refusal_final(sandbox *sb);
/* A string buffer of lauxlib gets no second try when its growth is
** refused: it raises at once (see alloc.c).  Before C code of the sandbox
** grows one (or makes a result of that size) by `bytes`, this collects
** the garbage when they would not fit otherwise, charged as
** collectgarbage("collect") is, so that garbage does not count against
** the limit there either. */
void sandbox_make_room(lua_State *L, size_t bytes);
/* Before each add of `len` bytes to luaL_Buffer *B: the one growth the
** add may make is less than B's size, plus what it holds, plus len. */
#define SANDBOX_BUFFER_ROOM(B, len)                                         \
  ((void)((len) <= (B)->size - (B)->n ||                                    \
          (sandbox_make_room((B)->L, (B)->size + (B)->n + (len)), 0)))
/* Fits the collector's pause to a heap of `live` bytes just after a full
** collection, so that the next cycle starts before the heap meets the
** limit (see alloc.c). */
void sandbox_fit_collector(lua_State *L, size_t live);
/* Frees the arena's chunks, after lua_close. */
void sandbox_arena_free(sandbox *sb);

/* budget.c */
int budget_begin(sandbox *sb);  /* -1: calls nested past WATCHDOG_DEPTH */
void budget_end(sandbox *sb);
/* Before running co (resume, or close running its __close handlers): arms
** its hook and makes it the running thread; returns the thread to give
** back to budget_leave once co stops running. */
lua_State *budget_enter(sandbox *sb, lua_State *co);
void budget_leave(sandbox *sb, lua_State *prev);
void budget_late(sandbox *sb);  /* async-signal-safe, see watchdog.c */
/* Around time a call spends waiting in the host (its log callback, a
** grant, a database another process has locked): the backstop does not
** count it.  begin returns what end needs (0: nothing to count). */
long long budget_host_begin(const sandbox *sb);
void budget_host_end(sandbox *sb, long long began);
void budget_stop(sandbox *sb, lua_State *L, int why);
/* Records where L's plugin code is, unless a place is recorded already
** for this call (the first wins). */
void budget_note_where(sandbox *sb, lua_State *L);
void budget_charge(lua_State *L, long long n);  /* raises when spent */
/* Charges n instructions where nothing may raise (the allocator), and
** arms the running thread's hook to look at the call on its next
** instruction: a stop, or a soft refusal nobody tried again. */
void budget_owe(sandbox *sb, long long n);
/* "file:line" of the innermost Lua function of L with a line, or "" when
** none has one (the engine passing a value in, compiling). */
void budget_where(lua_State *L, char *out, size_t n);
int budget_raise(lua_State *L);                 /* raises the stop error */

/* watchdog.c: one thread per engine noticing calls that pass their
** deadline; see the file's header.  watchdog_new returns NULL (message in
** err) when the thread or the signal handler cannot be set up. */
#define WATCHDOG_DEPTH 32        /* calls nested in one engine, at most */
watchdog *watchdog_new(char *err, size_t errsize);
void watchdog_free(watchdog *w);  /* no call may be running */
/* Lets w know of a plugin with time limit `ns` (it wakes at least once per
** the shortest limit it knows, so it never misses a call). */
void watchdog_watch(watchdog *w, long long ns);
/* Publish and withdraw the call sb makes now on the calling thread;
** watchdog_begin returns -1 when WATCHDOG_DEPTH calls are running. */
int watchdog_begin(watchdog *w, sandbox *sb, long long ns);
void watchdog_end(watchdog *w);

/* The library pieces.  state.c opens each stock library and calls these
** with its table on top of the stack, before the table becomes global. */
void baselib_open(lua_State *L);  /* the global table */
/* Adds len bytes at s to a line of text for the host's log (print,
** lplug.log) in b, which holds nothing else: a NUL byte as the two
** characters \0 (the host gets a C string, which ended at the first
** one), and at most SANDBOX_LINE_MAX bytes.  Returns 0 when not all of
** it fit: the line then ends in "... (cut)" and must take no more.
** Charges the bytes it read (may raise). */
#define SANDBOX_LINE_MAX 4096
int baselib_addline(luaL_Buffer *b, const char *s, size_t len);
void require_open(lua_State *L);  /* the global table */
void corolib_open(lua_State *L);  /* coroutine */
/* the long C functions, paying for their work (docs/security.md) */
void pattern_open(lua_State *L);  /* string: find, match, gmatch, gsub */
void tablib_open(lua_State *L);   /* table: concat, insert, remove, ... */
/* string.rep, format, ..., utf8.len, ..., os.date, tonumber: charged up
** front; lib is the name of the library on top (LUA_GNAME for _G). */
void guards_open(lua_State *L, const char *lib);
/* The charged string.format, for C code that formats as it does (a
** plugin may replace its own string.format, never this). */
int guards_string_format(lua_State *L);

#endif
