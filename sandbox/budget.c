/*
** budget.c -- the per-call instruction budget, enforced by a count hook.
**
** One budget per call, shared by every thread the call runs: the main
** thread counts blocks of SANDBOX_BLOCK instructions after they run (each
** call starts a fresh block, so nothing is left over between calls); a
** coroutine is charged a block of SANDBOX_COROUTINE_BLOCK before it runs,
** at every resume and every time its hook fires, so a plugin cannot hide
** work in many short resumes.
**
** Attacks this answers (see SANDBOX-NOTES):
**  - A limit error is an ordinary error that pcall catches.  Once spent
**    the budget stays spent: the hook is re-armed with count 1 and raises
**    again on every instruction until control is back in the engine, and
**    coroutines refuse to resume.
**  - Hooks are per thread: corolib.c arms every coroutine before it runs.
**  - An error raised inside a hook leaves hooks off on that thread; such a
**    coroutine is marked and never resumed or closed again (corolib.c).
**  - The stop error is preallocated, so raising it needs no memory.
**
** Deadline mode (instruction_limit 0, time_limit set): no hook is armed
** while the call runs; when the call passes its deadline the watchdog
** (watchdog.c) signals the thread running it and budget_late, called
** from the signal handler, arms the count hook with count 1 on the
** running Lua thread.  From there the stop is the one above.  Because
** the handler can interrupt the engine between any two statements, every
** place here that writes a hook or changes sb->running re-reads sb->late
** afterwards and re-arms (set_hook, budget_enter, budget_leave): whatever
** the handler wrote meanwhile may have been overwritten.
**
** The backstop (instruction mode without a deadline).  A few operations
** take time in proportion to a string's size inside one VM instruction
** (`<` on strings of NUL bytes makes one strcoll per byte), so an
** instruction budget alone bounds a call's instructions, not its time:
** 1M instructions of such comparisons ran over 3 minutes.  So the
** monotonic clock is read once SANDBOX_FIRST_BLOCK instructions are
** charged, then once per SANDBOX_BLOCK more (at the hook's block ends, in
** budget_charge, at coroutine resumes), and a call still running
** config.backstop after its first reading is stopped.  A call shorter
** than the first block never reads the clock, so calls pay nothing for
** this.  The stop comes at a reading: at most the first block and one
** more after the backstop.  Time the call waits in the host is taken out
** (budget_host_begin/end: log and grant callbacks, a locked database).
*/
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "sandbox/sandbox.h"

static void count_hook(lua_State *L, lua_Debug *ar);

static long long min_ll(long long a, long long b) { return a < b ? a : b; }

void budget_where(lua_State *L, char *out, size_t n) {
  lua_Debug ar;
  int level;
  for (level = 0; lua_getstack(L, level, &ar); level++) {
    if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
      snprintf(out, n, "%s:%d", ar.short_src, ar.currentline);
      return;
    }
  }
  if (n > 0) out[0] = '\0';
}

/* Records where the plugin was when a limit hit it. */
static void note_where(sandbox *sb, lua_State *L) {
  sandbox_failure *f = sandbox_failure_of(sb);
  if (f == NULL || f->where[0] != '\0') return;  /* the first place wins */
  budget_where(L, f->where, sizeof f->where);
}

int budget_raise(lua_State *L) {
  sandbox *sb = sandbox_of(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, sb->stop_ref);  /* no allocation */
  return lua_error(L);
}

/* Sets L's hook (count 0: none), then re-arms L if the deadline passed
** meanwhile: the signal handler may have armed L in between, or armed
** another thread before L became the running one. */
static void set_hook(sandbox *sb, lua_State *L, int count) {
  if (count > 0) lua_sethook(L, count_hook, LUA_MASKCOUNT, count);
  else if (lua_gethookmask(L) != 0) lua_sethook(L, NULL, 0, 0);
  if (sb->late) lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
}

/* Async-signal-safe: lua.c calls lua_sethook from its SIGINT handler, and
** this writes nothing else but a volatile flag. */
void budget_late(sandbox *sb) {
  lua_State *L;
  sb->late = 1;
  L = sb->running;
  if (L != NULL) lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
}

/* Stops the call (the first reason wins) and arms L to raise on its next
** instruction.  Safe inside the allocator: lua.c calls lua_sethook from a
** signal handler. */
void budget_stop(sandbox *sb, lua_State *L, int why) {
  if (!sb->stop) {
    sb->stop = why;
    if (sb->failure) sb->failure->where[0] = '\0';
  }
  if (L != NULL) lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
}

void budget_note_where(sandbox *sb, lua_State *L) {
  note_where(sb, L);
}

static long long monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether the call has run past its backstop: reads the clock once per
** SANDBOX_BLOCK instructions charged (coroutines' hooks fire more often). */
static int past_backstop(sandbox *sb) {
  long long now;
  if (sb->charged < sb->clock_due) return 0;
  sb->clock_due = sb->charged > LLONG_MAX - SANDBOX_BLOCK
                      ? LLONG_MAX : sb->charged + SANDBOX_BLOCK;
  now = monotonic_ns();
  if (sb->clock_start == 0) {  /* the call's first reading */
    sb->clock_start = now;
    return 0;
  }
  return now - sb->clock_start >= sb->config.backstop;
}

static void count_hook(lua_State *L, lua_Debug *ar) {
  sandbox *sb = sandbox_of(L);
  (void)ar;
  /* A soft refusal (alloc.c) armed this: its second try has come or
  ** never will. */
  if (sb->refusal == SANDBOX_REFUSAL_SOFT) sandbox_refusal_final(sb);
  else if (sb->refusal == SANDBOX_REFUSAL_RETRIED) {
    sb->refusal = SANDBOX_REFUSAL_NONE;
    sandbox_fit_collector(L, sb->first_try.live);
  }
  if (!sb->stop && sb->late) budget_stop(sb, L, SANDBOX_STOP_TIME);
  if (!sb->stop && sb->config.instruction_limit <= 0) {
    set_hook(sb, L, 0);  /* armed by a call that has ended: disarm */
    return;
  }
  if (!sb->stop) {
    if (L == sb->L) sb->charged += sb->main_block;  /* block done */
    if (sb->config.backstop > 0 && past_backstop(sb))
      budget_stop(sb, L, SANDBOX_STOP_BACKSTOP);
  }
  if (!sb->stop) {
    long long left = sb->config.instruction_limit - sb->charged;
    if (left > 0) {
      if (L == sb->L) {
        sb->main_block = (int)min_ll(SANDBOX_BLOCK, left);
        set_hook(sb, L, sb->main_block);
      } else {
        int next = (int)min_ll(SANDBOX_COROUTINE_BLOCK, left);
        sb->charged += next;  /* prepaid */
        set_hook(sb, L, next);
      }
      return;
    }
    budget_stop(sb, L, SANDBOX_STOP_CPU);
  }
  note_where(sb, L);
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  budget_raise(L);
}

/* Only a call whose clock has started has anything to move: a short call
** reads no clock for its host's time either. */
long long budget_host_begin(const sandbox *sb) {
  if (sb->config.backstop <= 0 || !sb->in_call || sb->clock_start == 0)
    return 0;
  return monotonic_ns();
}

void budget_host_end(sandbox *sb, long long began) {
  if (began != 0 && sb->in_call) sb->clock_start += monotonic_ns() - began;
}

int budget_begin(sandbox *sb) {
  sb->charged = 0;
  sb->stop = SANDBOX_RUNNING;
  sb->refusal = SANDBOX_REFUSAL_NONE;
  sb->in_call = 1;
  sb->late = 0;
  sb->running = sb->L;
  sb->close_depth = 0;
  sb->stack_base = (uintptr_t)&sb;  /* near the call's start */
  sb->main_block = sb->first_block;
  sb->clock_start = 0;  /* the clock starts once a first block is charged */
  sb->clock_due = SANDBOX_FIRST_BLOCK;
  set_hook(sb, sb->L, sb->first_block);
  /* Published last: from here on the watchdog may find this call late. */
  if (sb->config.time_limit > 0 &&
      watchdog_begin(sb->config.watchdog, sb, sb->config.time_limit) != 0) {
    sb->in_call = 0;
    sb->running = NULL;
    return -1;
  }
  return 0;
}

void budget_end(sandbox *sb) {
  /* Withdrawn first: once this returns no signal arms this call. */
  if (sb->config.time_limit > 0) watchdog_end(sb->config.watchdog);
  /* A refusal whose second try never came (the error of a caller that
  ** does not retry, which may have been caught) is a memory stop. */
  if (sb->refusal == SANDBOX_REFUSAL_SOFT) sandbox_refusal_final(sb);
  sb->in_call = 0;
  sb->running = NULL;
}

lua_State *budget_enter(sandbox *sb, lua_State *co) {
  lua_State *prev = sb->running;
  sb->running = co;  /* before arming, so that a late signal arms co */
  if (sb->config.instruction_limit > 0) {
    long long left = sb->config.instruction_limit - sb->charged;
    int first = (int)min_ll(SANDBOX_COROUTINE_BLOCK, left > 1 ? left : 1);
    sb->charged += first;
    set_hook(sb, co, first);
    /* A coroutine that yields before its block ends never runs its hook:
    ** each resume reads the backstop's clock as a block's end would. */
    if (!sb->stop && sb->config.backstop > 0 && past_backstop(sb))
      budget_stop(sb, co, SANDBOX_STOP_BACKSTOP);
  } else {
    set_hook(sb, co, 0);  /* deadline mode: only a late call arms it */
  }
  return prev;
}

void budget_leave(sandbox *sb, lua_State *prev) {
  sb->running = prev;
  if ((sb->late || sb->refusal == SANDBOX_REFUSAL_SOFT) && prev != NULL)
    lua_sethook(prev, count_hook, LUA_MASKCOUNT, 1);
}

/* Charges n instructions for work a C function does without running the
** VM (collections, compiling source); raises when that spends the budget. */
void budget_charge(lua_State *L, long long n) {
  sandbox *sb = sandbox_of(L);
  if (!sb->in_call) return;
  /* Saturates: a guard may charge a count the plugin chose (1e18). */
  if (n > LLONG_MAX - sb->charged) sb->charged = LLONG_MAX;
  else sb->charged += n;
  if (!sb->stop && sb->late) budget_stop(sb, L, SANDBOX_STOP_TIME);
  /* A long C function (a sort, a pattern) charges without the hook
  ** firing: it reads the backstop's clock as the hook would. */
  if (!sb->stop && sb->config.backstop > 0 && past_backstop(sb))
    budget_stop(sb, L, SANDBOX_STOP_BACKSTOP);
  if (sb->stop || (sb->config.instruction_limit > 0 &&
                   sb->charged >= sb->config.instruction_limit)) {
    budget_stop(sb, L, SANDBOX_STOP_CPU);
    note_where(sb, L);
    budget_raise(L);
  }
}

void budget_owe(sandbox *sb, long long n) {
  if (n > LLONG_MAX - sb->charged) sb->charged = LLONG_MAX;
  else sb->charged += n;
  if (!sb->stop && sb->config.instruction_limit > 0 &&
      sb->charged >= sb->config.instruction_limit)
    budget_stop(sb, sb->running, SANDBOX_STOP_CPU);
  else if (sb->running != NULL)
    lua_sethook(sb->running, count_hook, LUA_MASKCOUNT, 1);
}
