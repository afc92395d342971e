/*
** test_lifecycle.c -- callbacks, states, disable and enable, safe mode,
** unload, and reload: the new version takes over only when it is ready,
** and a stream of hook calls never sees a record run twice or not at all.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

/* What on_state saw: "name:from>to;" each. */
static char changes[2048];

static void on_state(void *ud, const char *plugin, int from, int to,
                     const char *reason) {
  size_t n = strlen(changes);
  (void)ud; (void)reason;
  snprintf(changes + n, sizeof changes - n, "%s:%s>%s;", plugin,
           from ? lplug_state_name(from) : "new", lplug_state_name(to));
}

static int setup(void **state) {
  fixture *f;
  lplug_config c = {0};
  fixture_setup(state);
  f = *state;
  lplug_engine_free(f->e);
  c.grant = lplug_grant_declared;
  c.failure_limit = 3;
  c.on_state = on_state;
  f->e = support_engine_with(&f->log, &c);
  assert_int_equal(lplug_hook_define(f->e, "go", 0, NULL), LPLUG_OK);
  changes[0] = '\0';
  return 0;
}

static const char manifest[] =
  "name: life\nversion: %s\ncapabilities:\n"
  "  hooks: [go]\n  storage: {}\n  log: {}\n"
  "  events: { emit: ['life.*'], on: ['ping'] }\n";

/* Writes plugin "life" (version, code) under the fixture's root and
** returns its folder. */
static char *write_life(fixture *f, const char *version, const char *code) {
  char yaml[512];
  snprintf(yaml, sizeof yaml, manifest, version);
  return support_plugin(f->root, "life", yaml, code);
}

/* Runs hook "go" over the integer n and returns what came back (the
** integer, or -1 when the value is not one). */
static long long go(fixture *f, long long n) {
  lplug_value *v = lplug_value_new();
  lplug_builder *b = lplug_builder_new();
  int ok = 0;
  lplug_build_integer(b, n);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  lplug_hook_run(f->e, "go", v);
  long long r = lplug_value_integer(v, 0, &ok);
  lplug_value_free(v);
  lplug_builder_free(b);
  return ok ? r : -1;
}

static void lifecycle_init_runs_at_load(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "local ready = false\n"
    "require('lplug.hooks').on('go', function(n)\n"
    "  return ready and n + 1 or -5\n"
    "end)\n"
    "return { init = function() ready = true end }\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(go(f, 1), 2);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_ACTIVE);
  assert_string_equal(changes, "life:new>loaded;life:loaded>active;");
  assert_int_equal(lplug_plugin_state(f->e, "nobody"), LPLUG_ENOTFOUND);
  free(dir);
}

static void lifecycle_failing_init_fails_the_load(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n) return n + 1 end)\n"
    "return { init = function() error('no database', 0) end }\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "plugin 'life': error in "
                         "init(): no database"));
  assert_string_equal(changes, "life:new>loaded;life:loaded>failed;");
  assert_int_equal(lplug_plugin_count(f->e), 0);
  assert_int_equal(go(f, 1), 1);  /* nothing of it stayed registered */
  free(dir);
}

static void lifecycle_main_returns_callbacks_or_nothing(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0", "return 42\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "init.lua returned a number "
                         "(return a table of callbacks: init, shutdown, save, "
                         "restore; or nothing)"));
  free(dir);
  dir = write_life(f, "1.0.0", "return { shutdown = 'later' }\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "returned callbacks whose "
                         "'shutdown' is a string, not a function"));
  free(dir);
}

static void lifecycle_disabled_plugin_does_not_run(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "require('lplug.events').on('ping', function() pinged = true end)\n"
    "require('lplug.hooks').on('go', function(n)\n"
    "  return n + (pinged and 100 or 1)\n"
    "end)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  lplug_dispatch(f->e, 0);
  assert_int_equal(lplug_plugin_disable(f->e, "life"), LPLUG_OK);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_DISABLED);
  assert_int_equal(go(f, 1), 1);                  /* the handler is skipped */
  lplug_value *v = lplug_value_new();
  lplug_event_emit(f->e, "ping", v);
  lplug_dispatch(f->e, 0);                        /* and the subscriber */
  assert_int_equal(lplug_plugin_enable(f->e, "life"), LPLUG_OK);
  assert_int_equal(go(f, 1), 2);
  lplug_event_emit(f->e, "ping", v);
  lplug_dispatch(f->e, 0);
  assert_int_equal(go(f, 1), 101);
  lplug_value_free(v);
  assert_non_null(strstr(changes, "life:active>disabled;life:disabled>"
                         "active;"));
  assert_int_equal(lplug_plugin_disable(f->e, "ghost"), LPLUG_ENOTFOUND);
  free(dir);
}

static void lifecycle_safe_mode_disables_after_failures_in_a_row(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n)\n"
    "  if n < 0 then error('negative') end\n"
    "  return n + 1\n"
    "end)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  go(f, -1);
  go(f, -1);
  assert_int_equal(go(f, 1), 2);  /* a success starts the count again */
  go(f, -1);
  go(f, -1);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_ACTIVE);
  go(f, -1);                      /* the third in a row (failure_limit 3) */
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_DISABLED);
  /* the engine says so, in its own name, and how to undo it */
  assert_non_null(strstr(f->log.last_log, "-: plugin 'life' disabled after "
                         "3 failed calls in a row: hook runs and events "
                         "skip it until lplug_plugin_enable or a reload "
                         "(the last: "));
  assert_int_equal(go(f, 1), 1);
  assert_int_equal(lplug_plugin_enable(f->e, "life"), LPLUG_OK);
  assert_int_equal(go(f, 1), 2);
  go(f, -1);
  go(f, -1);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_ACTIVE);
  free(dir);
}

/* Safe mode's message says a reload runs the plugin again: the failures
** were the old code's.  A disable of the host's stays through reloads. */
static void lifecycle_reload_runs_what_safe_mode_disabled(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n) error('broken') end)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  for (int i = 0; i < 3; i++) go(f, 1);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_DISABLED);
  free(dir);
  dir = write_life(f, "1.0.1",
    "require('lplug.hooks').on('go', function(n) return n + 1 end)\n");
  changes[0] = '\0';
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_OK);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_ACTIVE);
  assert_string_equal(changes, "life:disabled>active;");
  assert_int_equal(go(f, 1), 2);
  assert_int_equal(lplug_plugin_disable(f->e, "life"), LPLUG_OK);
  changes[0] = '\0';
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_OK);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_DISABLED);
  assert_string_equal(changes, "life:disabled>disabled;");
  free(dir);
}

/* Host subscriber collecting "topic:reason;" of lifecycle events. */
static char heard[2048];
static void hear(void *ud, const char *topic, const lplug_value *payload,
                 const char *source) {
  size_t at, n = strlen(heard);
  (void)ud; (void)source;
  const char *reason = lplug_value_field(payload, 0, "reason", &at)
                       ? lplug_value_string(payload, at, NULL) : "?";
  snprintf(heard + n, sizeof heard - n, "%s:%s;", topic, reason);
}

static void lifecycle_changes_are_published(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n) error('always') end)\n");
  heard[0] = '\0';
  assert_true(lplug_event_subscribe(f->e, "lplug.plugin.*", hear, NULL) > 0);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  for (int i = 0; i < 3; i++) go(f, 1);
  lplug_plugin_enable(f->e, "life");
  lplug_plugin_unload(f->e, "life");
  lplug_dispatch(f->e, 0);
  assert_string_equal(heard,
    "lplug.plugin.loaded:loaded;"
    "lplug.plugin.disabled:plugin 'life' disabled after 3 failed calls in a "
    "row: hook runs and events skip it until lplug_plugin_enable or a reload "
    "(the last: plugin 'life': error in hook 'go': life/init.lua:1: always);"
    "lplug.plugin.enabled:enabled by the host;"
    "lplug.plugin.unloaded:unloaded by the host;");
  free(dir);
}

/* A host on_state that undoes a change (re-enables what was disabled)
** and one that tries to change a plugin still loading. */
static lplug_engine *undoing;
static int disable_while_loading, state_while_loading;
static void undo_on_state(void *ud, const char *plugin, int from, int to,
                          const char *reason) {
  on_state(ud, plugin, from, to, reason);
  if (to == LPLUG_STATE_DISABLED)
    assert_int_equal(lplug_plugin_enable(undoing, plugin), LPLUG_OK);
  if (to == LPLUG_STATE_LOADED) {
    disable_while_loading = lplug_plugin_disable(undoing, plugin);
    state_while_loading = lplug_plugin_state(undoing, plugin);
  }
}

static void lifecycle_events_follow_changes_made_from_on_state(void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n) return n + 1 end)\n");
  c.grant = lplug_grant_declared;
  c.on_state = undo_on_state;
  lplug_engine_free(f->e);
  f->e = undoing = support_engine_with(&f->log, &c);
  assert_int_equal(lplug_hook_define(f->e, "go", 0, NULL), LPLUG_OK);
  heard[0] = changes[0] = '\0';
  assert_true(lplug_event_subscribe(f->e, "lplug.plugin.*", hear, NULL) > 0);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  /* the plugin being loaded is known by name, and not yet changeable */
  assert_int_equal(state_while_loading, LPLUG_STATE_LOADED);
  assert_int_equal(disable_while_loading, LPLUG_ESTATE);
  assert_non_null(strstr(lplug_errmsg(f->e), "lplug_plugin_disable: plugin "
                         "'life' is still loading"));
  assert_int_equal(lplug_plugin_disable(f->e, "life"), LPLUG_OK);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_ACTIVE);
  lplug_dispatch(f->e, 0);
  /* the bus tells the changes in the order they happened: the last one
  ** says the plugin is active, as it is */
  assert_string_equal(heard,
    "lplug.plugin.loaded:loaded;"
    "lplug.plugin.disabled:disabled by the host;"
    "lplug.plugin.enabled:enabled by the host;");
  assert_string_equal(changes, "life:new>loaded;life:loaded>active;"
                      "life:active>disabled;life:disabled>active;");
  assert_int_equal(go(f, 1), 2);
  free(dir);
}

static void lifecycle_unload_runs_shutdown_and_forgets(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "local storage = require 'lplug.storage'\n"
    "require('lplug.hooks').on('go', function(n) return n + 1 end)\n"
    "return { shutdown = function() storage.set('bye', true) end }\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(lplug_plugin_unload(f->e, "life"), LPLUG_OK);
  assert_int_equal(lplug_plugin_count(f->e), 0);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_ENOTFOUND);
  assert_int_equal(go(f, 1), 1);
  assert_int_equal(lplug_plugin_unload(f->e, "life"), LPLUG_ENOTFOUND);
  /* loaded again, it finds what its shutdown stored */
  free(dir);
  dir = write_life(f, "1.0.0",
    "local storage = require 'lplug.storage'\n"
    "require('lplug.hooks').on('go', function(n)\n"
    "  return storage.get('bye') and n + 10 or n\n"
    "end)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(go(f, 1), 11);
  free(dir);
}

/* Checks that exactly the plugins marked in `loaded` (of n named
** "n<i>") are found, by name and in load order. */
static void expect_loaded(fixture *f, const char *loaded, int n) {
  char name[16];
  int i, k = 0;
  for (i = 0; i < n; i++) {
    snprintf(name, sizeof name, "n%d", i);
    if (loaded[i]) {
      assert_int_equal(lplug_plugin_state(f->e, name), LPLUG_STATE_ACTIVE);
      assert_string_equal(lplug_plugin_name(f->e, k), name);
      k++;
    } else {
      assert_int_equal(lplug_plugin_state(f->e, name), LPLUG_ENOTFOUND);
    }
  }
  assert_int_equal(lplug_plugin_count(f->e), k);
}

static void lifecycle_unloads_in_any_order_keep_the_others_found(
    void **state) {
  /* Unloading takes one plugin out of the engine's name index (it used to
  ** rebuild it whole); every other one must stay found, whatever slots
  ** the removal shifts.  Two sizes: a small index where probes wrap
  ** around its end, and a larger one; a reload in between. */
  static const int sizes[] = {40, 300};
  fixture *f = *state;
  char name[16], *dir;
  int s, i, step;
  for (s = 0; s < 2; s++) {
    int n = sizes[s];
    char *loaded = calloc((size_t)n, 1);
    assert_non_null(loaded);
    for (i = 0; i < n; i++) {
      snprintf(name, sizeof name, "n%d", i);
      dir = support_plugin(f->root, name, NULL, "");
      assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
      free(dir);
      loaded[i] = 1;
    }
    expect_loaded(f, loaded, n);
    snprintf(name, sizeof name, "n%d", n / 2);
    assert_int_equal(lplug_reload(f->e, name), LPLUG_OK);
    expect_loaded(f, loaded, n);
    for (step = 7; step > 0; step -= 3) {  /* every 7th, 4th, then 1st */
      for (i = (n * step) % 5; i < n; i += step) {
        if (!loaded[i]) continue;
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(lplug_plugin_unload(f->e, name), LPLUG_OK);
        loaded[i] = 0;
        if (s == 0 || i % 16 == 0) expect_loaded(f, loaded, n);
      }
    }
    expect_loaded(f, loaded, n);
    free(loaded);
  }
}

/* on_log callback that tries to unload, reload and load from inside a
** call. */
static lplug_engine *inside_engine;
static const char *inside_dir;
static int inside_unload, inside_reload, inside_load, inside_load_dir;
static char inside_load_msg[256];
static void from_inside(void *ud, int level, const char *plugin,
                        const char *message) {
  (void)ud; (void)level; (void)plugin; (void)message;
  inside_unload = lplug_plugin_unload(inside_engine, "life");
  inside_reload = lplug_reload(inside_engine, "life");
  inside_load = lplug_load_plugin(inside_engine, inside_dir);
  snprintf(inside_load_msg, sizeof inside_load_msg, "%s",
           lplug_errmsg(inside_engine));
  inside_load_dir = lplug_load_dir(inside_engine, inside_dir);
}

static void lifecycle_is_refused_inside_a_call(void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  c.grant = lplug_grant_declared;
  c.on_log = from_inside;
  inside_engine = lplug_engine_new(&c);
  lplug_hook_define(inside_engine, "go", 0, NULL);
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n) print('hi') end)\n");
  /* a second plugin, loaded from inside the call, would register on the
  ** hook that is running: refused before anything of it runs */
  char *other = support_plugin(f->root, "other", NULL,
    "require('lplug.hooks').on('go', function(n) end)\n");
  inside_dir = other;
  assert_int_equal(lplug_load_plugin(inside_engine, dir), LPLUG_OK);
  lplug_value *v = lplug_value_new();
  assert_int_equal(lplug_hook_run(inside_engine, "go", v), LPLUG_OK);
  assert_int_equal(inside_unload, LPLUG_ESTATE);
  assert_int_equal(inside_reload, LPLUG_ESTATE);
  assert_int_equal(inside_load, LPLUG_ESTATE);
  assert_string_equal(inside_load_msg, "lplug_load_plugin: called from "
                      "inside a plugin call (do it after the call returns)");
  assert_int_equal(inside_load_dir, LPLUG_ESTATE);
  assert_int_equal(lplug_plugin_count(inside_engine), 1);
  free(other);
  lplug_value_free(v);
  lplug_engine_free(inside_engine);
  free(dir);
}

/* ---- the host's callbacks while the engine holds a plugin ------------- */

/* What the callbacks below tried, and got. */
static lplug_engine *held_engine;
static int unload_in_error, reload_in_error, unload_in_state, load_in_state,
           load_dir_in_state;
static const char *held_dir;

static void unload_on_error(void *ud, const char *plugin, int code,
                            const char *message, const char *traceback) {
  (void)ud; (void)code; (void)message; (void)traceback;
  unload_in_error = lplug_plugin_unload(held_engine, plugin);
  reload_in_error = lplug_reload(held_engine, plugin);
}

static void unload_on_state(void *ud, const char *plugin, int from, int to,
                            const char *reason) {
  (void)ud; (void)from; (void)reason;
  if (to == LPLUG_STATE_DISABLED)
    unload_in_state = lplug_plugin_unload(held_engine, plugin);
  if (to == LPLUG_STATE_LOADED) {
    load_in_state = lplug_load_plugin(held_engine, held_dir);
    load_dir_in_state = lplug_load_dir(held_engine, held_dir);
  }
}

/* The engine the callbacks below use: config c (its callbacks), plugins
** granted what they declare, hook point "go" with `flags`. */
static lplug_engine *held_by(lplug_config *c, int flags) {
  c->grant = lplug_grant_declared;
  held_engine = lplug_engine_new(c);
  assert_non_null(held_engine);
  assert_int_equal(lplug_hook_define(held_engine, "go", flags, NULL),
                   LPLUG_OK);
  return held_engine;
}

static lplug_engine *held(void (*error_fn)(void *, const char *, int,
                                           const char *, const char *),
                          void (*state_fn)(void *, const char *, int, int,
                                           const char *)) {
  lplug_config c = {0};
  c.failure_limit = 1;
  c.on_error = error_fn;
  c.on_state = state_fn;
  return held_by(&c, 0);
}

/* Unloading or reloading the plugin the engine is reporting on freed it
** under the engine (use after free); loading its folder again while it
** loads gave two plugins of one name.  Both are refused until the engine
** has let go; disabling works there, and the unload works after. */
static void lifecycle_callbacks_cannot_pull_a_plugin_from_the_engine(
    void **state) {
  fixture *f = *state;
  lplug_engine *e = held(unload_on_error, unload_on_state);
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n) error('no') end)\n");
  lplug_value *v = lplug_value_new();
  held_dir = dir;
  load_in_state = load_dir_in_state = 0;
  unload_in_error = reload_in_error = unload_in_state = 0;
  assert_int_equal(lplug_load_plugin(e, dir), LPLUG_OK);
  assert_int_equal(load_in_state, LPLUG_ESTATE);
  assert_int_equal(load_dir_in_state, LPLUG_ESTATE);
  assert_int_equal(lplug_plugin_count(e), 1);
  assert_int_equal(lplug_hook_run(e, "go", v), LPLUG_OK);  /* fail-open */
  assert_int_equal(unload_in_error, LPLUG_ESTATE);
  assert_int_equal(reload_in_error, LPLUG_ESTATE);
  assert_int_equal(unload_in_state, LPLUG_ESTATE);  /* safe mode's disable */
  assert_int_equal(lplug_plugin_state(e, "life"), LPLUG_STATE_DISABLED);
  assert_int_equal(lplug_plugin_unload(e, "life"), LPLUG_OK);
  assert_int_equal(lplug_plugin_count(e), 0);
  lplug_value_free(v);
  lplug_engine_free(e);
  free(dir);
}

/* A host disabling the plugin while a reload runs its new version: the
** new version takes the state the plugin has at the swap. */
static int disable_armed;
static void disable_on_log(void *ud, int level, const char *plugin,
                           const char *message) {
  (void)ud; (void)level; (void)message;
  if (disable_armed && plugin != NULL) {
    disable_armed = 0;
    assert_int_equal(lplug_plugin_disable(held_engine, plugin), LPLUG_OK);
  }
}

static void lifecycle_reload_keeps_a_disable_made_meanwhile(void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  char *dir = write_life(f, "1.0.0", "print('main runs')\n");
  c.on_log = disable_on_log;
  held_by(&c, 0);
  disable_armed = 0;
  assert_int_equal(lplug_load_plugin(held_engine, dir), LPLUG_OK);
  disable_armed = 1;
  assert_int_equal(lplug_reload(held_engine, "life"), LPLUG_OK);
  assert_int_equal(disable_armed, 0);
  assert_int_equal(lplug_plugin_state(held_engine, "life"),
                   LPLUG_STATE_DISABLED);
  lplug_engine_free(held_engine);
  free(dir);
}

/* What the old version's shutdown registers during a reload went on
** running after the old version was freed (use after free). */
static void lifecycle_what_an_old_shutdown_registers_goes_with_it(
    void **state) {
  fixture *f = *state;
  lplug_hook *h = lplug_hook_find(f->e, "go");
  char *dir = write_life(f, "1.0.0",
    "local hooks = require 'lplug.hooks'\n"
    "hooks.on('go', function(n) return n + 1 end)\n"
    "return { shutdown = function()\n"
    "  hooks.on('go', function(n) return -1 end)\n"
    "  require('lplug.events').on('ping', function() end)\n"
    "end }\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_OK);
  assert_int_equal(lplug_hook_handlers(h), 1);
  assert_int_equal(go(f, 1), 2);
  lplug_dispatch(f->e, 0);  /* lplug.plugin.loaded, .reloaded */
  assert_int_equal(lplug_event_emit(f->e, "ping", NULL), LPLUG_OK);
  assert_int_equal(lplug_dispatch(f->e, 0), 1);
  free(dir);
}

/* The host's events, emitted from its callbacks during a plugin call that
** fails, stay queued; the plugin's own go with the call. */
static void emit_on_log(void *ud, int level, const char *plugin,
                        const char *message) {
  (void)ud; (void)level; (void)plugin; (void)message;
  assert_int_equal(lplug_event_emit(held_engine, "host.audit", NULL),
                   LPLUG_OK);
}

static void lifecycle_a_failed_call_drops_only_its_plugins_events(
    void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  lplug_value *v = lplug_value_new();
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n)\n"
    "  require('lplug.events').emit('life.x', 1)\n"
    "  print('audit me')\n"
    "  error('no')\n"
    "end)\n");
  c.on_log = emit_on_log;
  held_by(&c, 0);
  assert_int_equal(lplug_load_plugin(held_engine, dir), LPLUG_OK);
  lplug_dispatch(held_engine, 0);  /* lplug.plugin.loaded */
  assert_int_equal(lplug_hook_run(held_engine, "go", v), LPLUG_OK);
  assert_int_equal(lplug_event_pending(held_engine), 1);  /* host.audit */
  lplug_value_free(v);
  lplug_engine_free(held_engine);
  free(dir);
}

/* A host that calls back into the plugin running now gets LPLUG_ESTATE
** for that call; it is not the plugin's failure, and with a failure
** limit of 1 it must not disable the plugin. */
static int nested_rc;
static void run_again_on_log(void *ud, int level, const char *plugin,
                             const char *message) {
  lplug_value *v = lplug_value_new();
  (void)ud; (void)level; (void)plugin; (void)message;
  nested_rc = lplug_hook_run(held_engine, "go", v);
  lplug_value_free(v);
}

static void lifecycle_a_host_calling_back_in_does_not_fail_the_plugin(
    void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  lplug_value *v = lplug_value_new();
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n) print('in') end)\n");
  c.failure_limit = 1;
  c.on_log = run_again_on_log;
  held_by(&c, LPLUG_HOOK_FAIL_CLOSED);
  assert_int_equal(lplug_load_plugin(held_engine, dir), LPLUG_OK);
  nested_rc = 0;
  assert_int_equal(lplug_hook_run(held_engine, "go", v), LPLUG_OK);
  assert_int_equal(nested_rc, LPLUG_ESTATE);
  assert_int_equal(lplug_plugin_state(held_engine, "life"),
                   LPLUG_STATE_ACTIVE);
  lplug_value_free(v);
  lplug_engine_free(held_engine);
  free(dir);
}

static const char counting_v1[] =
  "local storage = require 'lplug.storage'\n"
  "local count = 0\n"
  "require('lplug.hooks').on('go', function(n) count = count + 1\n"
  "  storage.set('v1 count', count)\n"
  "  return n + 1 end)\n"
  "return { save = function() return { count = count } end }\n";

static void lifecycle_reload_swaps_in_the_new_version(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0", counting_v1);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(go(f, 1), 2);
  assert_int_equal(go(f, 1), 2);
  free(dir);
  dir = write_life(f, "2.0.0",
    "local storage = require 'lplug.storage'\n"
    "local count\n"
    "require('lplug.hooks').on('go', function(n) count = count + 1\n"
    "  assert(storage.get('v1 count') == 2, 'storage is kept')\n"
    "  return n * 1000 + count end)\n"
    "return {\n"
    "  init = function() storage.set('v2', true) end,\n"
    "  restore = function(saved) count = saved.count end,\n"
    "}\n");
  changes[0] = '\0';
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_OK);
  assert_int_equal(go(f, 1), 1003);  /* the count went on from 2 */
  assert_int_equal(lplug_plugin_count(f->e), 1);
  assert_int_equal(lplug_plugin_state(f->e, "life"), LPLUG_STATE_ACTIVE);
  assert_string_equal(changes, "life:active>active;");
  free(dir);
}

static void lifecycle_failed_reload_keeps_the_old_version(void **state) {
  fixture *f = *state;
  char moved[4096];
  char *dir = write_life(f, "1.0.0", counting_v1);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(go(f, 1), 2);
  free(dir);
  struct { const char *code; int rc; const char *why; } bad[] = {
    {"local x = = 1\n", LPLUG_ELOAD, "unexpected symbol"},
    {"local storage = require 'lplug.storage'\n"
     "require('lplug.events').emit('life.new', {})\n"
     "require('lplug.hooks').on('go', function(n) return -1 end)\n"
     "return { init = function() storage.set('half', 1) end,\n"
     "  restore = function() error('cannot restore', 0) end }\n",
     LPLUG_ERUNTIME, "error in restore(): cannot restore"},
    {"while true do end\n", LPLUG_ECPU, "instruction budget"},
  };
  int heard_events = 0;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dir = write_life(f, "2.0.0", bad[i].code);
    assert_int_equal(lplug_reload(f->e, "life"), bad[i].rc);
    assert_non_null(strstr(lplug_errmsg(f->e), "reload of 'life' failed; "
                           "the running version stays"));
    assert_non_null(strstr(lplug_errmsg(f->e), bad[i].why));
    assert_int_equal(go(f, 1), 2);  /* the old version, alone */
    free(dir);
  }
  /* a folder gone is one more failed reload, reported under the name */
  dir = write_life(f, "1.0.0", counting_v1);
  snprintf(moved, sizeof moved, "%s/moved", f->root);
  assert_int_equal(rename(dir, moved), 0);
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_EIO);
  assert_non_null(strstr(lplug_errmsg(f->e), "reload of 'life' failed; the "
                         "running version stays: cannot open plugin folder"));
  assert_string_equal(f->log.last_plugin, "life");
  assert_int_equal(rename(moved, dir), 0);
  assert_int_equal(go(f, 1), 2);
  /* and so is a manifest that no longer parses */
  support_write(dir, "plugin.yaml", "name: life\nversion: [\n");
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_EMANIFEST);
  assert_string_equal(f->log.last_plugin, "life");
  assert_int_equal(go(f, 1), 2);
  free(dir);
  /* nothing the failed versions did stayed: no events, no storage */
  heard_events = lplug_event_pending(f->e);
  assert_int_equal(heard_events, 1);  /* lplug.plugin.loaded only */
  dir = write_life(f, "3.0.0",
    "local storage = require 'lplug.storage'\n"
    "require('lplug.hooks').on('go', function(n)\n"
    "  return storage.get('half') == nil and 7 or -7 end)\n");
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_OK);
  assert_int_equal(go(f, 1), 7);
  free(dir);
}

/* A first load that fails at init leaves nothing, as a failed reload
** does: not what the main file stored, nor the events it emitted. */
static void lifecycle_failed_load_leaves_nothing(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "local storage = require 'lplug.storage'\n"
    "storage.set('from main', 1)\n"
    "require('lplug.events').emit('life.main', {})\n"
    "return { init = function() error('cannot init', 0) end }\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "error in init(): cannot "
                         "init"));
  assert_int_equal(lplug_event_pending(f->e), 1);  /* lplug.plugin.failed */
  free(dir);
  dir = write_life(f, "1.0.1",
    "local storage = require 'lplug.storage'\n"
    "require('lplug.hooks').on('go', function(n)\n"
    "  return storage.get('from main') == nil and 7 or -7 end)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_int_equal(go(f, 1), 7);
  free(dir);
}

static void lifecycle_reload_refuses_a_renamed_plugin(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0", counting_v1);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  support_write(dir, "plugin.yaml", "name: other\nversion: 1.0.0\n");
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_EMANIFEST);
  assert_non_null(strstr(lplug_errmsg(f->e), "the plugin is now named "
                         "'other', not 'life'"));
  assert_int_equal(go(f, 1), 2);
  assert_int_equal(lplug_reload(f->e, "ghost"), LPLUG_ENOTFOUND);
  free(dir);
}

static void lifecycle_reload_keeps_what_dependents_need(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.4.0", counting_v1);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  char *user = support_plugin(f->root, "user",
    "name: user\nversion: 1.0.0\ndepends: ['life ^1.2']\n", "");
  assert_int_equal(lplug_load_plugin(f->e, user), LPLUG_OK);
  free(dir);
  dir = write_life(f, "2.0.0", counting_v1);
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_EDEPEND);
  assert_non_null(strstr(lplug_errmsg(f->e), "reload of 'life' failed; the "
                         "running version stays: plugin 'life': loaded plugin "
                         "'user' needs 'life ^1.2'"));
  assert_int_equal(go(f, 1), 2);
  free(dir);
  dir = write_life(f, "1.9.0", counting_v1);
  assert_int_equal(lplug_reload(f->e, "life"), LPLUG_OK);
  free(dir);
  free(user);
}

static void lifecycle_reload_in_a_stream_runs_each_record_once(void **state) {
  fixture *f = *state;
  char *dir = write_life(f, "1.0.0",
    "require('lplug.hooks').on('go', function(n) return n + 1 end)\n");
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  long long n = 0;
  for (int i = 0; i < 300; i++) {
    n = go(f, n);
    if (i % 10 == 0) assert_int_equal(lplug_reload(f->e, "life"), LPLUG_OK);
  }
  assert_int_equal(n, 300);
  free(dir);
}

static void lifecycle_engine_free_runs_shutdown(void **state) {
  fixture *f = *state;
  char db[4200];
  snprintf(db, sizeof db, "%s/life.db", f->root);
  lplug_config c = {0};
  c.grant = lplug_grant_declared;
  c.storage_path = db;
  for (int round = 0; round < 2; round++) {
    lplug_engine *e = lplug_engine_new(&c);
    lplug_hook_define(e, "go", 0, NULL);
    char *dir = write_life(f, "1.0.0",
      "local storage = require 'lplug.storage'\n"
      "require('lplug.hooks').on('go', function(n)\n"
      "  return storage.get('shutdowns') or 0 end)\n"
      "return { shutdown = function() storage.incr('shutdowns') end }\n");
    assert_int_equal(lplug_load_plugin(e, dir), LPLUG_OK);
    lplug_value *v = lplug_value_new();
    assert_int_equal(lplug_hook_run(e, "go", v), LPLUG_OK);
    assert_int_equal(lplug_value_integer(v, 0, NULL), round);
    lplug_value_free(v);
    lplug_engine_free(e);
    free(dir);
  }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, fixture_teardown)

/* on_error's message is the host's own: a call it makes from the
** callback (here an unload, refused there) writes lplug_errmsg, yet the
** message it holds stays, and so does the failed call's message. */
static lplug_engine *reporting_engine;
static char seen_after[512];

static void unload_from_on_error(void *ud, const char *plugin, int code,
                                 const char *message, const char *tb) {
  (void)ud; (void)code; (void)tb;
  assert_int_equal(lplug_plugin_unload(reporting_engine, plugin),
                   LPLUG_ESTATE);
  snprintf(seen_after, sizeof seen_after, "%s", message);
}

static void lifecycle_on_error_message_survives_calls_made_in_it(
    void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  lplug_value *v = lplug_value_new();
  char *dir = support_plugin(f->root, "fails", NULL,
    "require('lplug.hooks').on('t', function() error('the cause') end)");
  c.grant = lplug_grant_declared;
  c.on_error = unload_from_on_error;
  reporting_engine = lplug_engine_new(&c);
  assert_non_null(reporting_engine);
  lplug_hook_define(reporting_engine, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(reporting_engine, dir), LPLUG_OK);
  assert_int_equal(lplug_hook_run(reporting_engine, "t", v), LPLUG_ERUNTIME);
  assert_non_null(strstr(seen_after, "the cause"));
  assert_non_null(strstr(lplug_errmsg(reporting_engine), "the cause"));
  lplug_engine_free(reporting_engine);
  lplug_value_free(v);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    T(lifecycle_init_runs_at_load),
    T(lifecycle_failing_init_fails_the_load),
    T(lifecycle_main_returns_callbacks_or_nothing),
    T(lifecycle_disabled_plugin_does_not_run),
    T(lifecycle_safe_mode_disables_after_failures_in_a_row),
    T(lifecycle_reload_runs_what_safe_mode_disabled),
    T(lifecycle_changes_are_published),
    T(lifecycle_events_follow_changes_made_from_on_state),
    T(lifecycle_unload_runs_shutdown_and_forgets),
    T(lifecycle_unloads_in_any_order_keep_the_others_found),
    T(lifecycle_is_refused_inside_a_call),
    T(lifecycle_reload_swaps_in_the_new_version),
    T(lifecycle_failed_load_leaves_nothing),
    T(lifecycle_failed_reload_keeps_the_old_version),
    T(lifecycle_reload_refuses_a_renamed_plugin),
    T(lifecycle_reload_keeps_what_dependents_need),
    T(lifecycle_reload_in_a_stream_runs_each_record_once),
    T(lifecycle_engine_free_runs_shutdown),
    T(lifecycle_on_error_message_survives_calls_made_in_it),
    T(lifecycle_callbacks_cannot_pull_a_plugin_from_the_engine),
    T(lifecycle_reload_keeps_a_disable_made_meanwhile),
    T(lifecycle_what_an_old_shutdown_registers_goes_with_it),
    T(lifecycle_a_failed_call_drops_only_its_plugins_events),
    T(lifecycle_a_host_calling_back_in_does_not_fail_the_plugin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
