/*
** watchdog.c -- the wall-clock deadline of plugin calls: one thread per
** engine watching the calls in progress, and a signal that makes a late
** call stop itself.
**
** Why a signal.  Hooks are per Lua thread, and lua_sethook on a state that
** another thread is running is a data race.  lua_sethook is
** async-signal-safe (lua.c arms its hook from its SIGINT handler), so the
** watchdog sends WATCHDOG_SIGNAL to the very thread running the late call
** (pthread_kill) and the handler, on that thread, arms the count hook of
** the Lua thread running the plugin (budget_late).  From there the stop is
** the instruction budget's: uncatchable, same guarantees (budget.c).
**
** Cost per call: a few plain stores.  The calling thread does not read
** the clock: it bumps its slot's generation (odd while the call runs) and
** stores the call's limit.  The watchdog does the timekeeping: while
** calls are made it looks at the slots every tick (an eighth of the
** shortest time limit it knows), notes when it first sees a call, and
** stops the call one limit after that.  A call is therefore never stopped
** early, and late by at most one tick plus the watchdog's scheduling
** delay.  After a whole shortest limit without any call it sleeps until
** a call wakes it: only that first call pays for a system call.  The
** price is the watchdog's own wake-ups while calls are made, eight per
** shortest limit (160 a second for 50 ms), on the core it runs on.
**
** Barriers.  Two places need a store then a load seen in that order by
** the other thread (Dekker's pattern): a call publishing itself then
** reading whether the watchdog sleeps, against the watchdog saying it
** sleeps then looking at the slots; and a call withdrawing itself then
** reading whether the watchdog is signalling it, against the reverse.
** Both are fast on the calling side and rare on the watchdog's, so the
** fence goes on the watchdog's side: membarrier(2) makes every running
** thread of the process execute a full barrier, and the calling side
** needs only a compiler barrier (light_barrier).  Where membarrier is
** missing (not Linux, an old kernel, a seccomp filter, valgrind) both
** sides use a full fence.
**
** Races and how they are answered:
**  - A signal arming a later call: the watchdog stores in the slot the
**    generation of the call it found late; the handler arms a slot only
**    while that generation is the one running.
**  - pthread_kill on a thread that has ended: a call cannot be withdrawn
**    while the watchdog is signalling it (`busy`, read by watchdog_end
**    after it ends the generation; the watchdog sets `busy` before it
**    re-reads the generation).
**  - The handler interleaving with the engine's own hook writes: budget.c
**    re-reads sb->late after each of them and re-arms.
**  - An arm lost inside Lua (luaG_traceexec may clear a trap the handler
**    has just set): the signal is sent again every WATCHDOG_RESEND while
**    the call stays late.
**  - Nested calls (a host callback calling into another plugin): one slot
**    per nesting level; the handler walks the thread's chain of calls in
**    progress (thread-local) and arms each late one, so an outer call
**    whose deadline passes during an inner one stops when it runs Lua
**    again.
**  - The thread-local chain is written by its own thread before the
**    thread can be signalled, so reading it in the handler never makes the
**    C library allocate a TLS block (a dlopen'ed liblplug included).
**
** Not answered here: a C function runs to its end before the armed hook
** can fire; the long ones check sb->late themselves through budget_charge
** (pattern.c, tablib.c, guards.c).
*/
#define _GNU_SOURCE  /* syscall(2), for membarrier */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

#include "sandbox/sandbox.h"

#define WATCHDOG_SIGNAL SIGURG      /* ignored by default: strays are harmless */
#define WATCHDOG_RESEND 2000000LL   /* ns between signals to a late call */
#define WATCHDOG_IDLE 1000000000LL  /* ns: shortest limit until one is known */
#define WATCHDOG_TICKS 8            /* looks per shortest limit */
#define WATCHDOG_TICK_MIN 50000LL   /* ns: at most 20,000 looks a second */

typedef struct slot {
  /* shared with the watchdog thread */
  _Atomic unsigned long long gen;   /* calls begun and ended: odd, running */
  _Atomic long long limit;          /* the running call's time limit (ns) */
  _Atomic unsigned long long late;  /* generation the watchdog found late */
  atomic_int busy;                  /* the watchdog is signalling the thread */
  pthread_t thread;                 /* runs the call; read only while busy */
  /* the calling thread's (and its signal handler's) */
  sandbox *sb;
  struct slot *prev;                /* the call this one runs inside of */
  /* the watchdog thread's */
  unsigned long long seen_gen;      /* the call it last saw running here */
  long long due;                    /* its deadline: first seen + limit */
  unsigned long long sent_gen;
  long long sent_at;
} slot;

struct watchdog {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;              /* on CLOCK_MONOTONIC */
  int quit;                         /* under mu */
  atomic_int asleep;                /* sleeping until a call wakes it */
  _Atomic long long period;         /* the shortest time limit known */
  int depth;                        /* the calling thread's */
  slot slots[WATCHDOG_DEPTH];
};

/* The innermost call in progress on this thread, in any engine. */
static _Thread_local _Atomic(slot *) current;

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* {======================================================================
** Barriers: cheap on the calling side, dear on the watchdog's
** ======================================================================= */

static int membarrier_works;  /* decided once, before any watchdog runs */

static void choose_barriers(void) {
#ifdef __linux__
  long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
              0) == 0)
    membarrier_works = 1;
#endif
}

static void light_barrier(void) {
  if (membarrier_works) atomic_signal_fence(memory_order_seq_cst);
  else atomic_thread_fence(memory_order_seq_cst);
}

static void heavy_barrier(void) {
#ifdef __linux__
  /* Registration belongs to the address space: should it be missing
  ** where membarrier_works says it was made (a fork child on a kernel
  ** that does not copy it; Linux 6.18 does), register and try again. */
  if (membarrier_works &&
      (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ||
       (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
                0) == 0 &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)))
    return;
#endif
  atomic_thread_fence(memory_order_seq_cst);
}

/* }====================================================================== */

/* {======================================================================
** The signal handler, installed once per process
** ======================================================================= */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int install_error;
static struct sigaction previous;  /* written once, before installing */

static void on_signal(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  slot *s;
  for (s = atomic_load_explicit(&current, memory_order_acquire); s != NULL;
       s = s->prev) {
    unsigned long long g = atomic_load(&s->gen);
    if ((g & 1) && atomic_load(&s->late) == g) budget_late(s->sb);
  }
  /* A host handling SIGURG itself (sockets' out-of-band data, the Go
  ** runtime) still gets its signals, and a few spurious ones. */
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != NULL) previous.sa_sigaction(sig, si, uc);
  } else if (previous.sa_handler != SIG_DFL &&
             previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
  }
  errno = saved;
}

static void install(void) {
  struct sigaction sa;
  choose_barriers();
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(WATCHDOG_SIGNAL, NULL, &previous) != 0 ||
      sigaction(WATCHDOG_SIGNAL, &sa, NULL) != 0)
    install_error = errno;
}

/* }====================================================================== */

/* Signals the thread of call g in s if that call is still running. */
static void send(slot *s, unsigned long long g, long long now) {
  atomic_store_explicit(&s->busy, 1, memory_order_relaxed);
  heavy_barrier();  /* against watchdog_end's gen store, busy load */
  if (atomic_load_explicit(&s->gen, memory_order_acquire) == g) {
    atomic_store(&s->late, g);
    pthread_kill(s->thread, WATCHDOG_SIGNAL);
  }
  atomic_store_explicit(&s->busy, 0, memory_order_release);
  s->sent_gen = g;
  s->sent_at = now;
}

/* Notes calls begun since the last look, signals the late ones; lowers
** *next to the time of the next thing to do.  Returns whether any call is
** in progress. */
static int scan(watchdog *w, long long now, long long *next) {
  int i, active = 0;
  for (i = 0; i < WATCHDOG_DEPTH; i++) {
    slot *s = &w->slots[i];
    unsigned long long g = atomic_load_explicit(&s->gen, memory_order_acquire);
    if (!(g & 1)) continue;
    active = 1;
    if (s->seen_gen != g) {  /* begun since the last look */
      /* The clock is read after the generation, not taken from `now`
      ** (read before the scan): a call begun in between must not start
      ** with a time from before it began. */
      s->seen_gen = g;
      s->due = now_ns() + atomic_load_explicit(&s->limit,
                                                memory_order_relaxed);
    }
    if (now < s->due) {
      if (s->due < *next) *next = s->due;
      continue;
    }
    if (s->sent_gen != g || now - s->sent_at >= WATCHDOG_RESEND)
      send(s, g, now);
    if (s->sent_at + WATCHDOG_RESEND < *next)
      *next = s->sent_at + WATCHDOG_RESEND;
  }
  return active;
}

static long long tick(watchdog *w) {
  long long t = atomic_load(&w->period) / WATCHDOG_TICKS;
  return t < WATCHDOG_TICK_MIN ? WATCHDOG_TICK_MIN : t;
}

/* Sleeps until a call wakes it, unless one has begun since `seen`. */
static void sleep_until_called(watchdog *w, unsigned long long seen) {
  atomic_store_explicit(&w->asleep, 1, memory_order_relaxed);
  heavy_barrier();  /* against watchdog_begin's gen store, asleep load */
  if (atomic_load_explicit(&w->slots[0].gen, memory_order_relaxed) == seen)
    while (atomic_load(&w->asleep) && !w->quit)
      pthread_cond_wait(&w->cond, &w->mu);
  atomic_store(&w->asleep, 0);
}

static void *run(void *arg) {
  watchdog *w = arg;
  unsigned long long seen = 0;  /* slot 0's generation at the last look */
  long long quiet_since = now_ns();
  pthread_mutex_lock(&w->mu);
  while (!w->quit) {
    long long now = now_ns(), next = now + tick(w);
    unsigned long long calls;
    int active = scan(w, now, &next);
    calls = atomic_load_explicit(&w->slots[0].gen, memory_order_relaxed);
    if (active || calls != seen) {
      seen = calls;
      quiet_since = now;
    } else if (now - quiet_since >= atomic_load(&w->period)) {
      sleep_until_called(w, seen);
      quiet_since = now_ns();
      continue;  /* look at once: a call may have woken it */
    }
    {
      struct timespec ts;
      ts.tv_sec = (time_t)(next / 1000000000LL);
      ts.tv_nsec = (long)(next % 1000000000LL);
      pthread_cond_timedwait(&w->cond, &w->mu, &ts);
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static void wake(watchdog *w) {
  pthread_mutex_lock(&w->mu);
  atomic_store(&w->asleep, 0);
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
}

watchdog *watchdog_new(char *err, size_t errsize) {
  watchdog *w;
  pthread_condattr_t ca;
  sigset_t all, old;
  int i, rc;
  pthread_once(&once, install);
  if (install_error) {
    snprintf(err, errsize, "cannot install the deadline's signal handler "
             "(SIGURG): %s", strerror(install_error));
    return NULL;
  }
  w = calloc(1, sizeof *w);
  if (w == NULL) {
    snprintf(err, errsize, "out of memory starting the deadline watchdog");
    return NULL;
  }
  atomic_init(&w->asleep, 0);
  atomic_init(&w->period, WATCHDOG_IDLE);
  for (i = 0; i < WATCHDOG_DEPTH; i++) {
    atomic_init(&w->slots[i].gen, 0);
    atomic_init(&w->slots[i].limit, 0);
    atomic_init(&w->slots[i].late, 0);
    atomic_init(&w->slots[i].busy, 0);
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cond, &ca);
  pthread_condattr_destroy(&ca);
  /* The watchdog thread takes no signal meant for the host's threads. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&w->thread, NULL, run, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    snprintf(err, errsize, "cannot start the deadline watchdog thread: %s",
             strerror(rc));
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
  }
  return w;
}

void watchdog_free(watchdog *w) {
  if (w == NULL) return;
  pthread_mutex_lock(&w->mu);
  w->quit = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

void watchdog_watch(watchdog *w, long long ns) {
  if (ns <= 0 || ns >= atomic_load(&w->period)) return;
  atomic_store(&w->period, ns);
  wake(w);  /* it may be in a longer sleep */
}

int watchdog_begin(watchdog *w, sandbox *sb, long long ns) {
  slot *s;
  unsigned long long g;
  if (w->depth == WATCHDOG_DEPTH) return -1;
  s = &w->slots[w->depth++];
  s->sb = sb;
  s->prev = atomic_load_explicit(&current, memory_order_relaxed);
  s->thread = pthread_self();
  atomic_store_explicit(&s->limit, ns, memory_order_relaxed);
  g = atomic_load_explicit(&s->gen, memory_order_relaxed) + 1;
  atomic_store_explicit(&s->gen, g, memory_order_release);  /* publishes */
  atomic_store_explicit(&current, s, memory_order_release);
  light_barrier();
  if (atomic_load_explicit(&w->asleep, memory_order_relaxed)) wake(w);
  return 0;
}

void watchdog_end(watchdog *w) {
  slot *s = &w->slots[--w->depth];
  unsigned long long g = atomic_load_explicit(&s->gen, memory_order_relaxed);
  atomic_store_explicit(&s->gen, g + 1, memory_order_release);
  light_barrier();
  while (atomic_load_explicit(&s->busy, memory_order_acquire))
    sched_yield();  /* a pthread_kill, briefly */
  atomic_store_explicit(&current, s->prev, memory_order_release);
}
