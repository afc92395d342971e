/*
** testhost.h -- the test host: the sandboxed state a plugin's spec runs
** in (engine/testhost.c), and its one module, lplug.test (stdlib/test.c).
**
** The test host is a sandbox like a plugin's (same allocator, budgets,
** base library and folder-bound require) whose require offers only
** lplug.test.  lplug.test creates engines through the public API and
** keeps them in userdata, so a spec can do with a plugin what a host
** does, and nothing a plugin cannot already do to its own host.
*/
#ifndef LPLUG_TESTHOST_H
#define LPLUG_TESTHOST_H

#include <limits.h>
#include <lua.h>

#include "sandbox/sandbox.h"

/* Engines a spec may hold open at once (each is C memory outside the
** test host's budget, so their number is bounded instead). */
#define TESTHOST_MAX_ENGINES 16

typedef struct testhost {
  sandbox sb;
  char dir[PATH_MAX];     /* the folder of the plugin under test (realpath) */
  int engines;            /* lplug.test hosts open now */
  unsigned long long tmp; /* storage files made, for unique names */
  const struct lplug_spec_options *options;  /* may be NULL */
  char where[256];        /* where the running test raised its error */
} testhost;

/* The test host whose state L is. */
testhost *testhost_of(lua_State *L);

int luaopen_lplug_test(lua_State *L);

#endif
