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
** Cost per call: no system call.  The calling thread reads the monotonic
** clock (vDSO), writes its slot (a generation and a deadline, atomics) and
** reads whether the watchdog sleeps.  The watchdog does the waiting: it
** sleeps until the earliest deadline of the calls in progress, and at
** most one `period` (the shortest time limit it knows) when none is in
** progress, so a call starting while it sleeps is seen before its
** deadline.  After a whole period without any call it sleeps until a
** call wakes it: only that first call pays for a system call.
**
** Races and how they are answered:
**  - A signal arming a later call: the watchdog stores in the slot the
**    generation of the call it found late; the handler arms a slot only
**    while that generation is the one running.  The watchdog reads a
**    slot's generation, deadline, generation again, so it never pairs one
**    call's generation with another's deadline.
**  - pthread_kill on a thread that has ended: a call cannot be withdrawn
**    while the watchdog is signalling it (`busy`, read by watchdog_end
**    after it clears the deadline; the watchdog sets `busy` before it
**    re-reads the deadline; both sequentially consistent).
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
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox/sandbox.h"

#define WATCHDOG_SIGNAL SIGURG      /* ignored by default: strays are harmless */
#define WATCHDOG_RESEND 2000000LL        /* ns between signals to a late call */
#define WATCHDOG_IDLE 1000000000LL       /* ns: period until a limit is known */

typedef struct slot {
  /* shared with the watchdog thread */
  _Atomic unsigned long long gen;   /* number of the call using the slot */
  _Atomic long long due;            /* its deadline (ns, monotonic); 0: none */
  _Atomic unsigned long long late;  /* generation the watchdog found late */
  atomic_int busy;                  /* the watchdog is signalling the thread */
  pthread_t thread;                 /* runs the call; read only while busy */
  /* the calling thread's (and its signal handler's) */
  sandbox *sb;
  struct slot *prev;                /* the call this one runs inside of */
  /* the watchdog thread's */
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
** The signal handler, installed once per process
** ======================================================================= */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int install_error;
static struct sigaction previous;  /* written once, before installing */

static void on_signal(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  slot *s;
  for (s = atomic_load(&current); s != NULL; s = s->prev) {
    unsigned long long g = atomic_load(&s->gen);
    if (atomic_load(&s->late) == g && atomic_load(&s->due) != 0)
      budget_late(s->sb);
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
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(WATCHDOG_SIGNAL, NULL, &previous) != 0 ||
      sigaction(WATCHDOG_SIGNAL, &sa, NULL) != 0)
    install_error = errno;
}

/* }====================================================================== */

/* Signals the thread of call (g, d) in s if that call is still running. */
static void send(slot *s, unsigned long long g, long long d, long long now) {
  atomic_store(&s->busy, 1);
  if (atomic_load(&s->due) == d && atomic_load(&s->gen) == g) {
    atomic_store(&s->late, g);
    pthread_kill(s->thread, WATCHDOG_SIGNAL);
  }
  atomic_store(&s->busy, 0);
  s->sent_gen = g;
  s->sent_at = now;
}

/* Signals the late calls; lowers *next to the time of the next thing to
** do.  Returns whether any call is in progress. */
static int scan(watchdog *w, long long now, long long *next) {
  int i, active = 0;
  for (i = 0; i < WATCHDOG_DEPTH; i++) {
    slot *s = &w->slots[i];
    unsigned long long g = atomic_load(&s->gen);
    long long d = atomic_load(&s->due);
    if (d == 0 || atomic_load(&s->gen) != g) continue;
    active = 1;
    if (now < d) {
      if (d < *next) *next = d;
      continue;
    }
    if (s->sent_gen != g || now - s->sent_at >= WATCHDOG_RESEND)
      send(s, g, d, now);
    if (s->sent_at + WATCHDOG_RESEND < *next)
      *next = s->sent_at + WATCHDOG_RESEND;
  }
  return active;
}

static void *run(void *arg) {
  watchdog *w = arg;
  unsigned long long seen = 0;  /* top-level calls begun at the last look */
  pthread_mutex_lock(&w->mu);
  while (!w->quit) {
    long long now = now_ns(), next = now + atomic_load(&w->period);
    int active = scan(w, now, &next);
    unsigned long long calls = atomic_load(&w->slots[0].gen);
    if (!active && calls == seen) {  /* a whole period without a call */
      atomic_store(&w->asleep, 1);
      /* A call publishing itself now either reads asleep == 1 and wakes
      ** us, or is seen here (both sides sequentially consistent). */
      if (atomic_load(&w->slots[0].due) == 0 &&
          atomic_load(&w->slots[0].gen) == seen)
        while (atomic_load(&w->asleep) && !w->quit)
          pthread_cond_wait(&w->cond, &w->mu);
      atomic_store(&w->asleep, 0);
      continue;
    }
    seen = calls;
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
    atomic_init(&w->slots[i].due, 0);
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
  if (w->depth == WATCHDOG_DEPTH) return -1;
  s = &w->slots[w->depth++];
  s->sb = sb;
  s->prev = atomic_load(&current);
  s->thread = pthread_self();
  atomic_store_explicit(&s->gen, atomic_load_explicit(&s->gen,
                        memory_order_relaxed) + 1, memory_order_relaxed);
  atomic_store(&s->due, now_ns() + ns);  /* publishes the fields above */
  atomic_store(&current, s);
  if (atomic_load(&w->asleep)) wake(w);
  return 0;
}

void watchdog_end(watchdog *w) {
  slot *s = &w->slots[--w->depth];
  atomic_store(&s->due, 0);
  while (atomic_load(&s->busy)) sched_yield();  /* a pthread_kill, briefly */
  atomic_store(&current, s->prev);
}
