/*
** test_events.c -- the event bus: emit, dispatch, wildcards, once, order,
** back-pressure, host subscribers, lifecycle events, failed calls, grants.
*/
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "engine/engine.h"  /* test-only view: the subscriptions' array */

#define MS 1000000LL

/* What host subscribers saw: "topic<source>=payload-json;" each. */
static char seen[4096];

static void record(void *ud, const char *topic, const lplug_value *payload,
                   const char *source) {
  size_t n = strlen(seen);
  char *json = lplug_value_to_json(payload, NULL);
  (void)ud;
  snprintf(seen + n, sizeof seen - n, "%s<%s>=%s;", topic,
           source ? source : "host", json ? json : "?");
  lplug_free(json);
}

/* Loads plugin `name` with events capabilities emit/on (YAML flow lists)
** whose init.lua is `code`. */
static int load(fixture *f, const char *name, const char *emit,
                const char *on, const char *code) {
  char yaml[512];
  snprintf(yaml, sizeof yaml, "name: %s\nversion: 1.0.0\ncapabilities:\n"
           "  hooks: ['*']\n  events: { emit: %s, on: %s }\n", name, emit, on);
  char *dir = support_plugin(f->root, name, yaml, code);
  int rc = lplug_load_plugin(f->e, dir);
  free(dir);
  return rc;
}

/* Delivers what is queued (the lplug.plugin.loaded events of the loads)
** and forgets what was seen, so a test starts from an empty queue. */
static void drain(fixture *f) {
  lplug_dispatch(f->e, 0);
  seen[0] = '\0';
  f->log.printed[0] = '\0';
  f->log.errors = 0;
}

static int setup(void **state) {
  fixture_setup(state);
  seen[0] = '\0';
  return 0;
}

static void run_hook(fixture *f, const char *name) {
  lplug_value *v = lplug_value_new();
  lplug_hook_run(f->e, name, v);
  lplug_value_free(v);
}

/* A host subscriber that subscribes many more while an event is being
** delivered: the subscriptions' array moves, and delivery must not read
** the one it was on from the old place (ASan saw a use after free). */
static int more_subscribed;

static void subscribe_more(void *ud, const char *topic,
                           const lplug_value *payload, const char *source) {
  lplug_engine *e = ud;
  int i;
  (void)topic; (void)payload; (void)source;
  for (i = 0; i < 200; i++)
    if (lplug_event_subscribe(e, "x.*", record, NULL) > 0) more_subscribed++;
}

static void events_host_subscriber_may_subscribe_while_delivered(
    void **state) {
  fixture *f = *state;
  drain(f);
  more_subscribed = 0;
  assert_true(lplug_event_subscribe(f->e, "x.*", subscribe_more, f->e) > 0);
  assert_int_equal(lplug_event_emit(f->e, "x.y", NULL), LPLUG_OK);
  assert_int_equal(lplug_dispatch(f->e, 0), 1);
  assert_int_equal(more_subscribed, 200);
  assert_string_equal(seen, "");  /* the new ones wait for the next event */
  assert_int_equal(lplug_event_emit(f->e, "x.z", NULL), LPLUG_OK);
  assert_int_equal(lplug_dispatch(f->e, 0), 1);
  assert_int_equal(more_subscribed, 400);
  assert_non_null(strstr(seen, "x.z<host>=null;"));
}

static void events_plugin_to_plugin_and_host(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "go", 0, NULL), LPLUG_OK);
  assert_int_equal(load(f, "counter", "['counter.*']", "[]",
    "local events = require 'lplug.events'\n"
    "require('lplug.hooks').on('go', function()\n"
    "  assert(events.emit('counter.tick', { n = 1 }) == true)\n"
    "end)"), LPLUG_OK);
  assert_int_equal(load(f, "alert", "['alert.*']", "['counter.*']",
    "local events = require 'lplug.events'\n"
    "events.on('counter.*', function(payload, topic)\n"
    "  events.emit('alert.high', { from = topic .. '#' .. payload.n })\n"
    "end)"), LPLUG_OK);
  drain(f);
  assert_true(lplug_event_subscribe(f->e, "alert.*", record, NULL) > 0);
  run_hook(f, "go");
  assert_int_equal(lplug_event_pending(f->e), 1);
  assert_int_equal(lplug_dispatch(f->e, 0), 1);  /* counter.tick */
  assert_string_equal(seen, "");                 /* alert.high waits */
  assert_int_equal(lplug_dispatch(f->e, 0), 1);
  assert_string_equal(seen,
                      "alert.high<alert>={\"from\":\"counter.tick#1\"};");
}

static void events_wildcards_match_words(void **state) {
  fixture *f = *state;
  static const char *const topics[] = {"a", "a.b", "a.b.c", "x.b.c", "a.bc"};
  assert_true(lplug_event_subscribe(f->e, "a.*", record, NULL) > 0);
  assert_true(lplug_event_subscribe(f->e, "*.b.c", record, NULL) > 0);
  for (int i = 0; i < 5; i++)
    assert_int_equal(lplug_event_emit(f->e, topics[i], NULL), LPLUG_OK);
  assert_int_equal(lplug_dispatch(f->e, 0), 5);
  assert_string_equal(seen, "a.b<host>=null;a.b.c<host>=null;"
                            "a.b.c<host>=null;x.b.c<host>=null;a.bc<host>=null;");
}

static void events_bad_topics_and_patterns_are_refused(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_event_emit(f->e, "a..b", NULL), LPLUG_EINVAL);
  assert_int_equal(lplug_event_emit(f->e, "a.*", NULL), LPLUG_EINVAL);
  assert_int_equal(lplug_event_emit(f->e, "", NULL), LPLUG_EINVAL);
  assert_int_equal(lplug_event_subscribe(f->e, "a.b*", record, NULL),
                   LPLUG_EINVAL);
  assert_string_equal(lplug_errmsg(f->e), "event pattern 'a.b*' is invalid");
  /* from a plugin, a NUL would have cut the topic its grant is checked on */
  assert_int_equal(load(f, "nul", "['counter.*']", "['counter.*']",
    "local events = require 'lplug.events'\n"
    "local ok1, e1 = pcall(events.emit, 'counter.a\\0alert.x', 1)\n"
    "local ok2, e2 = pcall(events.on, 'counter.*\\0', print)\n"
    "print(ok1, ok2, e1:match('topic must be') ~= nil, "
    "e2:match('pattern must be') ~= nil)"), LPLUG_OK);
  assert_string_equal(f->log.printed, "false\tfalse\ttrue\ttrue\n");
}

static void events_keep_each_emitters_order(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "go", 0, NULL), LPLUG_OK);
  assert_int_equal(load(f, "seq", "['seq']", "[]",
    "local events = require 'lplug.events'\n"
    "require('lplug.hooks').on('go', function()\n"
    "  for i = 1, 5 do events.emit('seq', i) end\n"
    "end)"), LPLUG_OK);
  drain(f);
  assert_true(lplug_event_subscribe(f->e, "seq", record, NULL) > 0);
  run_hook(f, "go");
  assert_int_equal(lplug_dispatch(f->e, 2), 2);  /* at most max_events */
  assert_int_equal(lplug_dispatch(f->e, 0), 3);
  assert_string_equal(seen, "seq<seq>=1;seq<seq>=2;seq<seq>=3;seq<seq>=4;"
                            "seq<seq>=5;");
}

/* A plugin has at most 256 subscriptions at once; turning one off makes
** room for another. */
static void events_subscriptions_are_capped_per_plugin(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "many", "[]", "['*']",
    "local events = require 'lplug.events'\n"
    "local f, hs = function() end, {}\n"
    "for i = 1, 256 do hs[i] = events.on('t.' .. i, f) end\n"
    "local ok, err = pcall(events.on, 't.x', f)\n"
    "assert(not ok and err:find('at most 256 subscriptions', 1, true), err)\n"
    "assert(hs[1]:off())\n"
    "events.on('t.x', f)\n"
    "assert(not pcall(events.on, 't.y', f))\n"), LPLUG_OK);
}

/* Runs hook "t" over the string arg; the result string, if any, is
** copied into out (out may be NULL). */
static int run_t(fixture *f, const char *arg, char *out, size_t n) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  int rc;
  lplug_build_string(b, arg, strlen(arg));
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  lplug_builder_free(b);
  rc = lplug_hook_run(f->e, "t", v);
  if (out) snprintf(out, n, "%s", rc == LPLUG_OK && lplug_value_string(v, 0,
                    NULL) ? lplug_value_string(v, 0, NULL) : "?");
  lplug_value_free(v);
  return rc;
}

/* What a failed call registered is undone with it, as its events and
** storage writes are: a subscription or a handler made by a handler that
** then fails is gone; one made by a call that succeeds stays. */
static void events_failed_call_drops_what_it_registered(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  char got[64];
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  lplug_hook_define(f->e, "other", 0, NULL);
  assert_int_equal(load(f, "reg", "['w']", "['w']",
    "local events, hooks = require 'lplug.events', require 'lplug.hooks'\n"
    "HEARD = 0\n"
    "hooks.on('t', function(v)\n"
    "  if v == 'count' then return HEARD .. '/' .. (OTHER or 0) end\n"
    "  events.on('w', function() HEARD = HEARD + 1 end)\n"
    "  hooks.on('other', function() OTHER = (OTHER or 0) + 1 end)\n"
    "  if v == 'fail' then error('after registering') end\n"
    "end)\n"), LPLUG_OK);
  static const struct { const char *arg; int rc; const char *heard; } turn[] = {
    {"fail", LPLUG_ERUNTIME, "0/0"},   /* registered, then failed */
    {"keep", LPLUG_OK, "1/1"},
  };
  for (size_t i = 0; i < sizeof turn / sizeof turn[0]; i++) {
    assert_int_equal(run_t(f, turn[i].arg, NULL, 0), turn[i].rc);
    assert_int_equal(lplug_event_emit(f->e, "w", v), LPLUG_OK);
    lplug_dispatch(f->e, 0);
    assert_int_equal(lplug_hook_run(f->e, "other", v), LPLUG_OK);
    run_t(f, "count", got, sizeof got);
    assert_string_equal(got, turn[i].heard);
  }
  lplug_value_free(v);
}

static void events_once_delivers_one_event(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "once", "[]", "['ping']",
    "require('lplug.events').on('ping', function(p) print('got', p) end,\n"
    "                           { once = true })"), LPLUG_OK);
  drain(f);
  lplug_event_emit(f->e, "ping", NULL);
  lplug_event_emit(f->e, "ping", NULL);
  assert_int_equal(lplug_dispatch(f->e, 0), 2);
  assert_string_equal(f->log.printed, "got\tnil\n");
}

static void events_full_queue_pushes_back(void **state) {
  fixture *f = *state;
  lplug_engine_free(f->e);
  lplug_config config;
  memset(&config, 0, sizeof config);
  config.event_queue = 3;
  config.grant = lplug_grant_declared;
  f->e = lplug_engine_new(&config);
  assert_int_equal(lplug_hook_define(f->e, "go", 0, NULL), LPLUG_OK);
  assert_int_equal(load(f, "flood", "['x']", "[]",
    "local events = require 'lplug.events'\n"
    "require('lplug.hooks').on('go', function()\n"
    "  for i = 1, 3 do assert(events.emit('x', i)) end\n"
    "  local ok, err = events.emit('x', 4)\n"
    "  assert(ok == nil and err:find('event queue is full'), err)\n"
    "  print('pushed back')\n"
    "end)"), LPLUG_OK);
  drain(f);
  run_hook(f, "go");
  assert_int_equal(lplug_event_emit(f->e, "x", NULL), LPLUG_EFULL);
  assert_non_null(strstr(lplug_errmsg(f->e), "event queue is full (3 events"));
  assert_int_equal(lplug_dispatch(f->e, 0), 3);
  assert_int_equal(lplug_event_emit(f->e, "x", NULL), LPLUG_OK);
}

static void events_failing_subscriber_does_not_stop_others(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "bad", "[]", "['*']",
    "require('lplug.events').on('*', function() error('nope') end)"),
    LPLUG_OK);
  drain(f);
  assert_true(lplug_event_subscribe(f->e, "*", record, NULL) > 0);
  assert_int_equal(lplug_event_emit(f->e, "hello", NULL), LPLUG_OK);
  assert_int_equal(lplug_dispatch(f->e, 0), 1);
  assert_string_equal(seen, "hello<host>=null;");
  assert_int_equal(f->log.errors, 1);
  assert_non_null(strstr(f->log.last_message, "plugin 'bad': error in event "
                                              "'hello': bad/init.lua:1: nope"));
}

static void events_host_payload_reaches_plugins_as_a_copy(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "sink", "[]", "['rec.*']",
    "require('lplug.events').on('rec.*', function(p, topic)\n"
    "  print(topic, p.line, p.n)\n"
    "end)"), LPLUG_OK);
  drain(f);
  lplug_value *v = support_record("hello", 7);
  assert_int_equal(lplug_event_emit(f->e, "rec.new", v), LPLUG_OK);
  lplug_value_free(v);  /* the queue holds its own copy */
  assert_int_equal(lplug_dispatch(f->e, 0), 1);
  assert_string_equal(f->log.printed, "rec.new\thello\t7\n");
}

static void events_lifecycle_is_published(void **state) {
  fixture *f = *state;
  assert_true(lplug_event_subscribe(f->e, "lplug.plugin.*", record, NULL) > 0);
  assert_int_equal(load(f, "good", "[]", "[]", ""), LPLUG_OK);
  assert_int_equal(load(f, "broken", "[]", "[]", "error('x', 0)"),
                   LPLUG_ERUNTIME);
  assert_int_equal(lplug_dispatch(f->e, 0), 2);
  /* payloads are built by the engine in this order */
  assert_string_equal(seen,
    "lplug.plugin.loaded<host>={\"name\":\"good\",\"version\":\"1.0.0\","
    "\"reason\":\"loaded\"};"
    "lplug.plugin.failed<host>={\"name\":\"broken\",\"version\":"
    "\"1.0.0\",\"reason\":\"plugin 'broken': error in loading: x\"};");
}

static void events_of_a_failed_call_are_dropped(void **state) {
  fixture *f = *state;
  assert_int_equal(lplug_hook_define(f->e, "go", 0, NULL), LPLUG_OK);
  assert_int_equal(load(f, "flaky", "['*']", "[]",
    "local events = require 'lplug.events'\n"
    "require('lplug.hooks').on('go', function()\n"
    "  events.emit('kept.never', 1)\n"
    "  error('then fails')\n"
    "end)"), LPLUG_OK);
  drain(f);
  run_hook(f, "go");
  assert_int_equal(lplug_event_pending(f->e), 0);
}

static void events_emit_outside_the_declared_topics_fails(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "narrow", "['counter.*']", "[]",
    "require('lplug.events').emit('alert.fake', 1)"), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e),
    "events.emit: plugin 'narrow' does not declare 'alert.fake' under "
    "capabilities.events.emit (it lists: counter.*"));
}

static void events_cannot_subscribe_beyond_the_grant(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "nosy", "[]", "['alert.*']",
    "require('lplug.events').on('*', print)"), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "events.on: plugin 'nosy' does "
                         "not declare '*' under capabilities.events.on"));
  assert_int_equal(load(f, "nosy2", "[]", "['alert.*']",
    "require('lplug.events').on('secret.*', print)"), LPLUG_ERUNTIME);
}

static void events_unsubscribe_stops_delivery(void **state) {
  fixture *f = *state;
  long long id = lplug_event_subscribe(f->e, "*", record, NULL);
  assert_true(id > 0);
  assert_int_equal(load(f, "offer", "[]", "['*']",
    "local h = require('lplug.events').on('*', function()\n"
    "  print('delivered')\nend)\n"
    "assert(h:off() == true and h:off() == false)"), LPLUG_OK);
  drain(f);
  assert_int_equal(lplug_event_unsubscribe(f->e, id), LPLUG_OK);
  assert_int_equal(lplug_event_unsubscribe(f->e, id), LPLUG_ENOTFOUND);
  /* the message is this failure's, not an older one's */
  snprintf(seen, sizeof seen, "lplug_event_unsubscribe: no subscription %lld "
           "of the host's", id);
  assert_string_equal(lplug_errmsg(f->e), seen);
  seen[0] = '\0';
  lplug_event_emit(f->e, "x", NULL);
  assert_int_equal(lplug_dispatch(f->e, 0), 1);
  assert_string_equal(seen, "");
  assert_string_equal(f->log.printed, "");
}

static void events_payload_with_a_function_is_refused(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "fn", "['x']", "[]",
    "require('lplug.events').emit('x', { cb = print })"), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e),
                         "events.emit: payload.cb is a function"));
}

/* Replaces the fixture's engine with one of `config` (grants: declared). */
static void reconfigure(fixture *f, lplug_config *config) {
  lplug_engine_free(f->e);
  config->grant = lplug_grant_declared;
  f->e = support_engine_with(&f->log, config);
  assert_int_equal(lplug_hook_define(f->e, "attack", 0, NULL), LPLUG_OK);
}

/* Loads hostile plugin `name` and delivers its lplug.plugin.loaded. */
static void load_hostile(fixture *f, const char *name) {
  char dir[256];
  snprintf(dir, sizeof dir, "tests/hostile/%s", name);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  drain(f);
}

/* Runs hook "attack" of hostile plugin `name` (which queues events) and
** returns the plugin's counters before the dispatch. */
static lplug_stats attack(fixture *f, const char *name) {
  lplug_stats st;
  f->log.errors = 0;
  run_hook(f, "attack");
  assert_int_equal(lplug_plugin_stats(f->e, name, &st), LPLUG_OK);
  return st;
}

/* tests/hostile/ev-fanout: 256 subscriptions to f.tick, each burning
** ~60K instructions, and a queue of 20 f.tick: 5,120 calls unbounded.
** The plugin's handlers may spend 100 budgets (20M instructions) per
** dispatch: about 330 calls, then one ECPU report naming the bound;
** everyone else still gets every event, and the next dispatch starts
** afresh. */
static void events_dispatch_bounds_what_a_plugins_handlers_spend(
    void **state) {
  fixture *f = *state;
  lplug_config config = {0};
  lplug_stats before, after;
  int round;
  config.instruction_limit = 200000;
  config.event_queue = 20;
  reconfigure(f, &config);
  load_hostile(f, "ev-fanout");
  assert_true(lplug_event_subscribe(f->e, "f.tick", record, NULL) > 0);
  for (round = 0; round < 2; round++) {
    before = attack(f, "ev-fanout");
    assert_int_equal(lplug_event_pending(f->e), 20);
    assert_int_equal(lplug_dispatch(f->e, 0), 20);
    assert_int_equal(lplug_plugin_stats(f->e, "ev-fanout", &after), LPLUG_OK);
    /* at most 100 budgets, and the call that crossed them */
    assert_true(after.instructions - before.instructions <=
                (LPLUG_DISPATCH_BUDGETS + 1) * 200000ULL);
    assert_true(after.calls - before.calls < 20 * 256 / 4);
    assert_true(after.calls - before.calls > 100);
    assert_int_equal(after.cpu_errors - before.cpu_errors, 1);
    assert_int_equal(after.errors - before.errors, 1);
    assert_int_equal(f->log.errors, 1);
    assert_int_equal(f->log.last_code, LPLUG_ECPU);
    assert_string_equal(f->log.last_plugin, "ev-fanout");
    assert_non_null(strstr(f->log.last_message, "plugin 'ev-fanout': its "
      "event handlers spent 100 times its per-call budget of 200000 "
      "instructions in one lplug_dispatch (LPLUG_DISPATCH_BUDGETS); event "
      "'f.tick' and the rest of this dispatch's events are not delivered "
      "to it"));
    /* the host's subscriber got all 20 (20 of 28 bytes each) */
    assert_int_equal(strlen(seen), 20 * strlen("f.tick<ev-fanout>=false;"));
    seen[0] = '\0';
    assert_int_equal(lplug_plugin_state(f->e, "ev-fanout"),
                     LPLUG_STATE_ACTIVE);
  }
}

/* tests/hostile/ev-payload-fanout: 256 subscriptions to p.big, whose
** handlers do nothing, and 20 payloads of 800 tables queued by one call
** (which pays 7,100 instructions for each).  Each of the 5,120
** deliveries makes its own copy of 800 tables, and the subscriber now
** pays for it as the emitter did, so its allowance of 100 budgets of
** 200,000 instructions runs out after about half of them.  Uncharged,
** every delivery was made, counting 1,000 instructions each. */
static void events_subscribers_pay_for_their_copy_of_the_payload(
    void **state) {
  fixture *f = *state;
  lplug_config config = {0};
  lplug_stats before, after;
  config.instruction_limit = 200000;
  reconfigure(f, &config);
  load_hostile(f, "ev-payload-fanout");
  before = attack(f, "ev-payload-fanout");
  assert_int_equal(lplug_event_pending(f->e), 20);
  assert_int_equal(lplug_dispatch(f->e, 0), 20);
  assert_int_equal(lplug_plugin_stats(f->e, "ev-payload-fanout", &after),
                   LPLUG_OK);
  assert_true(after.calls - before.calls < 20 * 256 * 2 / 3);
  assert_int_equal(after.cpu_errors - before.cpu_errors, 1);
  assert_non_null(strstr(f->log.last_message, "plugin 'ev-payload-fanout': "
    "its event handlers spent 100 times its per-call budget"));
}

/* The reverse of tests/hostile/ev-match-flood: the queue filled first
** (here by the host, 1,000 events of 128-byte topics), then 256
** subscriptions whose patterns nearly match them.  Each subscription pays
** for matching the events queued (about 68,000 instructions here), so a
** budget of 1M holds 14 of them; uncharged, all 256 fitted, and the
** dispatch matched 256,000 pairs for them. */
static void events_subscribing_pays_for_matching_the_queued_events(
    void **state) {
  fixture *f = *state;
  lplug_config config = {0};
  char stem[128], topic[160];
  int i;
  config.instruction_limit = 1000000;
  reconfigure(f, &config);
  for (i = 0; i < 63; i++) memcpy(stem + 2 * i, "a.", 2);
  stem[125] = '\0';  /* 63 words */
  snprintf(topic, sizeof topic, "%s.y", stem);
  for (i = 0; i < 1000; i++)
    assert_int_equal(lplug_event_emit(f->e, topic, NULL), LPLUG_OK);
  assert_int_equal(load(f, "late", "[]", "['*']",
    "local events = require 'lplug.events'\n"
    "local stem = ('a.'):rep(63):sub(1, -2)\n"
    "for _ = 1, 256 do events.on(stem .. '.x', function() end) end\n"),
    LPLUG_ECPU);
  assert_int_equal(lplug_dispatch(f->e, 0), 1001);  /* and the load's failure */
}

/* In deadline mode the handlers' time is what counts: 100 x 5 ms = 0.5 s
** of handlers that spin 1 ms each is about 500 of 20 x 64 calls.  (64
** subscriptions, not more: the load itself runs under the 5 ms, and 256
** of them took longer than that under valgrind on a busy machine.) */
static void events_dispatch_bound_is_time_in_deadline_mode(void **state) {
  fixture *f = *state;
  lplug_config config = {0};
  lplug_stats before, after;
  config.time_limit = 5 * MS;
  config.event_queue = 20;
  reconfigure(f, &config);
  assert_int_equal(load(f, "spin", "['f.*']", "['f.*']",
    "local events = require 'lplug.events'\n"
    "local function spin()  -- 1 ms of CPU\n"
    "  local t = os.clock()\n"
    "  while os.clock() - t < 0.001 do end\n"
    "end\n"
    "for _ = 1, 64 do events.on('f.tick', spin) end\n"
    "require('lplug.hooks').on('attack', function()\n"
    "  while events.emit('f.tick', false) do end\n"
    "end)\n"), LPLUG_OK);
  drain(f);
  before = attack(f, "spin");
  assert_int_equal(lplug_dispatch(f->e, 0), 20);
  assert_int_equal(lplug_plugin_stats(f->e, "spin", &after), LPLUG_OK);
  assert_true(after.calls - before.calls < 20 * 64 * 3 / 4);
  /* (a call the machine delays 4 ms more ends on its own deadline) */
  assert_true(after.cpu_errors - before.cpu_errors >= 1);
  assert_non_null(strstr(f->log.last_message, "plugin 'spin': its event "
    "handlers spent 100 times its per-call budget of 5 ms in one "
    "lplug_dispatch"));
}

/* tests/hostile/ev-churn: a handler turns subscriptions on and off until
** its budget ends, four times in one dispatch.  The dead are dropped as
** they pile up: the array stays a few entries long (it held one per
** pair, ~4 x 7,000, until the dispatch ended). */
static void events_subscriptions_turned_off_while_dispatching_are_reclaimed(
    void **state) {
  fixture *f = *state;
  lplug_config config = {0};
  lplug_stats before, after;
  config.instruction_limit = 1000000;
  reconfigure(f, &config);
  load_hostile(f, "ev-churn");
  before = attack(f, "ev-churn");
  assert_int_equal(lplug_dispatch(f->e, 0), 4);
  assert_int_equal(lplug_plugin_stats(f->e, "ev-churn", &after), LPLUG_OK);
  assert_int_equal(after.cpu_errors - before.cpu_errors, 4);
  assert_true(f->e->subcap <= 16);
  assert_int_equal(f->e->nsubs, 1);  /* x.go */
}

/* Host subscription a turns off b (not reached yet) and itself, and
** churns enough to compact the array under the delivery: c and the
** plugin's still get each event once, in order; its once-subscription
** one. */
static long long sub_a, sub_b;

static void churn(void *ud, const char *topic, const lplug_value *payload,
                  const char *source) {
  lplug_engine *e = ud;
  int i;
  (void)topic; (void)payload; (void)source;
  lplug_event_unsubscribe(e, sub_b);
  for (i = 0; i < 50; i++)
    lplug_event_unsubscribe(e, lplug_event_subscribe(e, "y", record, NULL));
  lplug_event_unsubscribe(e, sub_a);
}

static void events_delivery_survives_compaction_under_it(void **state) {
  fixture *f = *state;
  sub_a = lplug_event_subscribe(f->e, "x", churn, f->e);
  assert_int_equal(load(f, "both", "[]", "['x']",
    "local events = require 'lplug.events'\n"
    "events.on('x', function() print('once') end, { once = true })\n"
    "events.on('x', function() print('each') end)\n"), LPLUG_OK);
  sub_b = lplug_event_subscribe(f->e, "x", record, NULL);
  assert_true(lplug_event_subscribe(f->e, "x", record, NULL) > 0);  /* c */
  drain(f);
  assert_int_equal(lplug_event_emit(f->e, "x", NULL), LPLUG_OK);
  assert_int_equal(lplug_event_emit(f->e, "x", NULL), LPLUG_OK);
  assert_int_equal(lplug_dispatch(f->e, 0), 2);
  assert_string_equal(seen, "x<host>=null;x<host>=null;");
  assert_string_equal(f->log.printed, "once\neach\neach\n");
  assert_int_equal(f->e->nsubs, 2);  /* each, c */
}

/* Subscription ids are never reused, and a plugin spends them as fast
** as it can call events.on(...):off(); they outlast INT_MAX (an int id
** ran out after about 15 minutes of that, and the one after INT_MAX was
** negative: a half-made subscription that dispatch called as a NULL
** function).  Past it, plugins and the host subscribe, get their events
** and unsubscribe as before. */
static void events_subscription_ids_go_past_int_max(void **state) {
  fixture *f = *state;
  long long host;
  f->e->next_sub = INT_MAX - 1;
  assert_int_equal(load(f, "late", "[]", "['x']",
    "local events = require 'lplug.events'\n"
    "events.on('x', function() print('first') end)\n"
    "local h = events.on('x', function() print('off') end)\n"
    "events.on('x', function() print('third') end)\n"
    "assert(h:off() == true)\n"), LPLUG_OK);
  host = lplug_event_subscribe(f->e, "x", record, NULL);
  assert_true(host > (long long)INT_MAX + 2);
  drain(f);
  assert_int_equal(lplug_event_emit(f->e, "x", NULL), LPLUG_OK);
  assert_int_equal(lplug_dispatch(f->e, 0), 1);
  assert_string_equal(f->log.printed, "first\nthird\n");
  assert_string_equal(seen, "x<host>=null;");
  assert_int_equal(lplug_event_unsubscribe(f->e, host), LPLUG_OK);
  assert_int_equal(lplug_event_unsubscribe(f->e, host), LPLUG_ENOTFOUND);
  assert_int_equal(f->log.errors, 0);
}

/* A payload larger than the whole queue is not back-pressure: it never
** fits, and the message says so; a topic too long says its limit. */
static void events_what_never_fits_says_why(void **state) {
  fixture *f = *state;
  lplug_config config = {0};
  char big[2000], topic[LPLUG_MAX_TOPIC + 2];
  lplug_builder *b = lplug_builder_new();
  lplug_value *v = lplug_value_new();
  config.event_queue_bytes = 1000;
  reconfigure(f, &config);
  memset(big, 'x', sizeof big);
  lplug_build_string(b, big, sizeof big);
  assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
  assert_int_equal(lplug_event_emit(f->e, "t", v), LPLUG_EFULL);
  assert_non_null(strstr(lplug_errmsg(f->e), "event payload of 2004 bytes "
    "is larger than the whole event queue allows (event_queue_bytes: 1000): "
    "it can never be queued"));
  memset(topic, 'a', sizeof topic - 1);
  topic[sizeof topic - 1] = '\0';
  assert_int_equal(lplug_event_emit(f->e, topic, NULL), LPLUG_EINVAL);
  assert_non_null(strstr(lplug_errmsg(f->e), "is 129 bytes long (at most "
                         "128)"));
  topic[LPLUG_MAX_TOPIC] = '\0';
  assert_int_equal(lplug_event_emit(f->e, topic, NULL), LPLUG_OK);
  assert_int_equal(load(f, "big", "['*']", "['*']",
    "local events = require 'lplug.events'\n"
    "print(events.emit('t', ('x'):rep(2000)))\n"
    "print(select(2, pcall(events.emit, ('a'):rep(129), 1)))\n"
    "print(select(2, pcall(events.on, ('a'):rep(129), print)))\n"), LPLUG_OK);
  assert_string_equal(f->log.printed,
    "nil\tevent payload of 2004 bytes is larger than the whole event queue "
    "allows (the host's event_queue_bytes): it can never be queued\n"
    "bad argument #1 to 'lplug.events.emit' (topic of 129 bytes is longer than 128)\n"
    "bad argument #1 to 'lplug.events.on' (pattern of 129 bytes is longer than 128)\n");
  lplug_value_free(v);
  lplug_builder_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, fixture_teardown)
    T(events_plugin_to_plugin_and_host),
    T(events_host_subscriber_may_subscribe_while_delivered),
    T(events_wildcards_match_words),
    T(events_bad_topics_and_patterns_are_refused),
    T(events_keep_each_emitters_order),
    T(events_subscriptions_are_capped_per_plugin),
    T(events_failed_call_drops_what_it_registered),
    T(events_once_delivers_one_event),
    T(events_full_queue_pushes_back),
    T(events_failing_subscriber_does_not_stop_others),
    T(events_host_payload_reaches_plugins_as_a_copy),
    T(events_lifecycle_is_published),
    T(events_of_a_failed_call_are_dropped),
    T(events_emit_outside_the_declared_topics_fails),
    T(events_cannot_subscribe_beyond_the_grant),
    T(events_unsubscribe_stops_delivery),
    T(events_payload_with_a_function_is_refused),
    T(events_dispatch_bounds_what_a_plugins_handlers_spend),
    T(events_dispatch_bound_is_time_in_deadline_mode),
    T(events_subscribers_pay_for_their_copy_of_the_payload),
    T(events_subscribing_pays_for_matching_the_queued_events),
    T(events_subscriptions_turned_off_while_dispatching_are_reclaimed),
    T(events_delivery_survives_compaction_under_it),
    T(events_what_never_fits_says_why),
    T(events_subscription_ids_go_past_int_max),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
