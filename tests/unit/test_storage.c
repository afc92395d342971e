/*
** test_storage.c -- lplug.storage: what it keeps, that a failed call
** keeps nothing, quotas, paging, isolation between plugins, persistence
** across engines, two processes on one file, and a process killed in the
** middle of writing.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

/* Replaces the fixture's engine with one storing in `db` (NULL: memory). */
static void use_storage(fixture *f, const char *db, int batch_ms,
                        size_t quota) {
  lplug_config c = {0};
  lplug_engine_free(f->e);
  c.grant = lplug_grant_declared;
  c.storage_path = db;
  c.storage_batch_ms = batch_ms;
  c.storage_quota = quota;
  c.instruction_limit = 1000000;
  f->e = support_engine_with(&f->log, &c);
}

static char *db_path(fixture *f) {
  char *path = malloc(strlen(f->root) + 16);
  assert_non_null(path);
  sprintf(path, "%s/test.db", f->root);
  return path;
}

/* Loads plugin `name` into e, declaring `storage` (a YAML flow value;
** NULL: none), whose handler of hook point `name` (defined here) has body
** `body`; the handler's argument is v. */
static int load_into(lplug_engine *e, const char *root, const char *name,
                     const char *storage, const char *body) {
  char yaml[512], code[4096];
  snprintf(yaml, sizeof yaml, "name: %s\nversion: 1.0.0\ncapabilities:\n"
           "  hooks: [%s]\n%s%s\n", name, name, storage ? "  storage: " : "",
           storage ? storage : "");
  snprintf(code, sizeof code, "local storage = %s\n"
           "require('lplug.hooks').on('%s', function(v)\n%s\nend)\n",
           storage ? "require 'lplug.storage'" : "nil", name, body);
  if (lplug_hook_find(e, name) == NULL)
    assert_int_equal(lplug_hook_define(e, name, LPLUG_HOOK_FAIL_CLOSED,
                                       NULL), LPLUG_OK);
  char *dir = support_plugin(root, name, yaml, code);
  int rc = lplug_load_plugin(e, dir);
  free(dir);
  return rc;
}

static int load(fixture *f, const char *name, const char *storage,
                const char *body) {
  return load_into(f->e, f->root, name, storage, body);
}

/* Runs hook point `name` over the string arg (nil when NULL); the result
** stays in *out when out is not NULL. */
static int go_with(lplug_engine *e, const char *name, const char *arg,
                   lplug_value **out) {
  lplug_value *v = lplug_value_new();
  if (arg) {
    lplug_builder *b = lplug_builder_new();
    lplug_build_string(b, arg, strlen(arg));
    assert_int_equal(lplug_builder_finish(b, v), LPLUG_OK);
    lplug_builder_free(b);
  }
  int rc = lplug_hook_run(e, name, v);
  if (out) *out = v;
  else lplug_value_free(v);
  return rc;
}

static void go_ok(fixture *f, const char *name, const char *arg) {
  int rc = go_with(f->e, name, arg, NULL);
  if (rc != LPLUG_OK) print_error("%s\n", f->log.last_message);
  assert_int_equal(rc, LPLUG_OK);
}

/* The integer a handler returned for hook `name` over arg in engine e. */
static long long result_of(lplug_engine *e, const char *name,
                           const char *arg) {
  lplug_value *v;
  int ok = 0;
  int rc = go_with(e, name, arg, &v);
  if (rc != LPLUG_OK) print_error("%s\n", lplug_errmsg(e));
  assert_int_equal(rc, LPLUG_OK);
  long long n = lplug_value_integer(v, 0, &ok);
  lplug_value_free(v);
  assert_true(ok);
  return n;
}

/* Runs `body` once as the handler of a fresh plugin `name`. */
static void check(fixture *f, const char *name, const char *body) {
  int rc = load(f, name, "{}", body);
  if (rc != LPLUG_OK) print_error("%s\n", f->log.last_message);
  assert_int_equal(rc, LPLUG_OK);
  go_ok(f, name, NULL);
}

static int setup(void **state) {
  fixture_setup(state);
  use_storage(*state, NULL, 0, 0);
  return 0;
}

static void storage_keeps_every_kind_of_value(void **state) {
  fixture *f = *state;
  check(f, "kinds",
    "storage.set('s', 'text\\0with nul')\n"
    "storage.set('i', -42) storage.set('f', 2.5) storage.set('b', false)\n"
    "storage.set('t', { 1, 2, { deep = 'yes' }, name = 'x' })\n"
    "assert(storage.get('s') == 'text\\0with nul')\n"
    "assert(math.type(storage.get('i')) == 'integer')\n"
    "assert(storage.get('i') == -42 and storage.get('f') == 2.5)\n"
    "assert(storage.get('b') == false and storage.get('none') == nil)\n"
    "local t = storage.get('t')\n"
    "assert(t[1] == 1 and t[3].deep == 'yes' and t.name == 'x')\n"
    "t.name = 'changed'  -- a copy: the stored value stays\n"
    "assert(storage.get('t').name == 'x')\n"
    "storage.delete('s') storage.set('i', nil)\n"
    "assert(storage.get('s') == nil and storage.get('i') == nil)\n"
    "storage.delete('never there')");
}

/* Integers are encoded by storage.set itself (stdlib/storage.c), not by
** value_from_lua: every size of their encoding comes back as it went. */
static void storage_keeps_integers_of_every_size(void **state) {
  fixture *f = *state;
  check(f, "integers",
    "local ns = { 0, 1, 127, 128, 255, 8191, 8192, -1, -64, -65, -128,\n"
    "  1 << 31, -(1 << 31), 1 << 62, math.maxinteger, math.mininteger }\n"
    "for i, n in ipairs(ns) do storage.set('n' .. i, n) end\n"
    "for i, n in ipairs(ns) do\n"
    "  local got = storage.get('n' .. i)\n"
    "  assert(math.type(got) == 'integer' and got == n, tostring(got))\n"
    "end\n"
    "storage.keys()  -- into the table, and read from there\n"
    "for i, n in ipairs(ns) do assert(storage.get('n' .. i) == n) end\n"
    "storage.set('f', 0.5) assert(math.type(storage.get('f')) == 'float')\n"
    "storage.set('w', 3.0) assert(math.type(storage.get('w')) == 'float')");
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(f->e, "integers", &st), LPLUG_OK);
  /* keys n1..n9 (2 bytes) and n10..n16 (3); values of 1 (0, 1, 127),
  ** 2 (-1, -64), 3 (128, 255, 8191, -65, -128), 4 (8192), 6 (+-2^31) and
  ** 11 (2^62, maxinteger, mininteger) bytes; f and w: 1 + 9 each (w,
  ** 3.0, is kept as the float it is) */
  assert_int_equal(st.storage_bytes, 9 * 2 + 7 * 3 + 3 * 1 + 2 * 2 +
                   5 * 3 + 4 + 2 * 6 + 3 * 11 + 2 * (1 + 9) + 18 * 32);
}

static void storage_incr_counts_from_zero(void **state) {
  fixture *f = *state;
  check(f, "counts",
    "assert(storage.incr('n') == 1 and storage.incr('n', 9) == 10)\n"
    "assert(storage.incr('n', -11) == -1 and storage.get('n') == -1)\n"
    "storage.set('word', 'x')\n"
    "local ok, err = pcall(storage.incr, 'word')\n"
    "assert(not ok and err:find(\"the value under 'word' is not an "
    "integer\", 1, true), err)\n"
    "storage.set('big', math.maxinteger)\n"
    "ok, err = pcall(storage.incr, 'big')\n"
    "assert(not ok and err:find('would overflow'), err)\n"
    "assert(storage.get('big') == math.maxinteger)");
}

static void storage_keys_must_be_sensible(void **state) {
  fixture *f = *state;
  check(f, "keys",
    "local ok, err = pcall(storage.set, '', 1)\n"
    "assert(not ok and err:find('key must be 1 to 1024 bytes'), err)\n"
    "ok, err = pcall(storage.get, string.rep('k', 1025))\n"
    "assert(not ok and err:find('key must be 1 to 1024 bytes'), err)\n"
    "ok, err = pcall(storage.set, {}, 1)\n"
    "assert(not ok and err:find('string expected'), err)\n"
    "ok, err = pcall(storage.get, 5)  -- a number is not a key\n"
    "assert(not ok and err:find('string expected, got number'), err)\n"
    "ok, err = pcall(storage.set, 'f', print)\n"
    "assert(not ok and err:find('storage.set: value'), err)\n"
    "ok, err = pcall(storage.set, 'x')\n"
    "assert(not ok, 'set without a value is a mistake, not a delete')\n"
    "storage.set(string.rep('k', 1024), 1)");
}

static void storage_failed_call_keeps_nothing(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "atomic", "{}",
    "if v == nil then\n"
    "  storage.set('kept', 'old') storage.set('n', 5) return\n"
    "end\n"
    "if v == 'check' then\n"
    "  assert(storage.get('kept') == 'old' and storage.get('n') == 5)\n"
    "  assert(storage.get('extra') == nil and #storage.keys() == 2)\n"
    "  return\n"
    "end\n"
    "storage.set('kept', 'new') storage.incr('n') storage.set('extra', 1)\n"
    "storage.delete('kept')\n"
    "if v == 'error' then error('changed my mind') end\n"
    "if v == 'cpu' then while true do end end\n"
    "if v == 'mem' then local t = {} while true do t[#t + 1] = {} end end\n"
    "return 'not kept either'  -- a result that cannot cross: a failure\n"
    "  and print"), LPLUG_OK);
  go_ok(f, "atomic", NULL);  /* kept = old, n = 5 */
  const char *kinds[] = {"error", "cpu", "mem", "value"};
  const int codes[] = {LPLUG_ERUNTIME, LPLUG_ECPU, LPLUG_EMEM, LPLUG_EVALUE};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(go_with(f->e, "atomic", kinds[i], NULL), codes[i]);
    go_ok(f, "atomic", "check");
  }
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(f->e, "atomic", &st), LPLUG_OK);
  /* kept -> "old": 4 + 6 encoded; n -> 5: 1 + 1; and 32 each */
  assert_int_equal(st.storage_bytes, (4 + 6 + 32) + (1 + 1 + 32));
}

/* Each write is charged to the instruction budget (the fixture's limit
** is 1,000,000) by its size, also a refused or a deleting one: loops of
** a few thousand VM instructions spend it, and the call keeps nothing. */
static void storage_writes_are_charged_to_the_budget(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "charged", "{}",
    "if v == 'count' then return #storage.keys() end\n"
    "storage.set('first', 1)\n"
    "if v == 'fine' then return 0 end\n"
    "local big = string.rep('x', 8000)  -- 200 + 1000 a set\n"
    "if v == 'set' then for i = 1, 2000 do storage.set('k', big) end end\n"
    "if v == 'delete' then for i = 1, 10000 do storage.delete('k') end end\n"
    "if v == 'refused' then\n"
    "  for i = 1, 10000 do assert(not pcall(storage.set, 'k', print)) end\n"
    "end\n"
    "return 0"), LPLUG_OK);
  const char *kinds[] = {"set", "delete", "refused"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(go_with(f->e, "charged", kinds[i], NULL), LPLUG_ECPU);
    assert_int_equal(result_of(f->e, "charged", "count"), 0);
  }
  go_ok(f, "charged", "fine");
  assert_int_equal(result_of(f->e, "charged", "count"), 1);
}

static void storage_usage_is_restored_when_a_call_fails(void **state) {
  fixture *f = *state;
  use_storage(f, NULL, 0, 4096);
  assert_int_equal(load(f, "quota", "{}",
    "if v == 'fill' then\n"
    "  storage.set('big', string.rep('x', 3000)) error('undo')\n"
    "end\n"
    "assert(storage.set('big', string.rep('y', 3000)))\n"), LPLUG_OK);
  for (int i = 0; i < 3; i++)
    assert_int_equal(go_with(f->e, "quota", "fill", NULL), LPLUG_ERUNTIME);
  go_ok(f, "quota", NULL);  /* over quota if the undone writes counted */
}

static void storage_quota_refuses_what_does_not_fit(void **state) {
  fixture *f = *state;
  use_storage(f, NULL, 0, 64 * 1024);
  assert_int_equal(load(f, "q", "{ quota: 16KB }",
    "local payload = string.rep('x', 1000)\n"
    "local n = 0\n"
    "while true do\n"
    "  local ok, err = storage.set('k' .. n, payload)  -- nil, why: no raise\n"
    "  if not ok then\n"
    "    assert(ok == nil and err:find(\"storage.set: storage quota of 16384 "
    "bytes for plugin 'q' would be exceeded\", 1, true), err)\n"
    "    assert(storage.get('k' .. n) == nil)\n"
    "    local ok2, err2 = storage.incr('k' .. n, 1)  -- fits: 9 bytes\n"
    "    assert(ok2 == 1, err2)\n"
    "    storage.delete('k' .. n)\n"
    "    break\n"
    "  end\n"
    "  assert(ok == true)\n"
    "  n = n + 1\n"
    "end\n"
    "assert(n == 15, n)  -- 15 * (2 or 3 + 1004 + 32) fit in 16 KB\n"
    "assert(storage.set('k0', 'small'))  -- shrinking always fits\n"
    "assert(storage.delete('k1'))        -- and deleting frees room\n"
    "assert(storage.set('k1', payload))"), LPLUG_OK);
  go_ok(f, "q", NULL);
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(f->e, "q", &st), LPLUG_OK);
  assert_int_equal(st.storage_quota, 16384);
  assert_int_equal(st.storage_bytes, 14579);  /* 15575 - 1038 + 42 */
}

static void storage_quota_of_the_manifest_is_a_ceiling_check(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "greedy", "{ quota: 2MB }", ""), LPLUG_EMANIFEST);
  assert_non_null(strstr(f->log.last_message, "plugin 'greedy': "
    "capabilities.storage.quota: 2 MB is over the host's ceiling of 1 MB"));
  assert_int_equal(load(f, "typo", "{ quota: lots }", ""), LPLUG_EMANIFEST);
  assert_non_null(strstr(f->log.last_message, "capabilities.storage.quota: "
                         "expected a size"));
  assert_int_equal(lplug_plugin_count(f->e), 0);
}

static void storage_plugins_never_see_each_other(void **state) {
  fixture *f = *state;
  check(f, "alice", "storage.set('secret', 'alice') storage.set('a', 1)");
  check(f, "bob",
    "assert(storage.get('secret') == nil and storage.get('a') == nil)\n"
    "assert(#storage.keys() == 0)\n"
    "storage.set('secret', 'bob')\n"
    "assert(storage.get('secret') == 'bob')\n"
    "local keys = storage.keys()\n"
    "assert(#keys == 1 and keys[1] == 'secret')");
  check(f, "carol", "assert(storage.get('secret') == nil)");
  check(f, "alice2", "assert(storage.get('secret') == nil)");
}

static void storage_keys_come_in_pages(void **state) {
  fixture *f = *state;
  check(f, "pages",
    "for i = 1, 250 do storage.set(string.format('user:%03d', i), i) end\n"
    "storage.set('other', 1) storage.set('user', 1) storage.set('uses', 1)\n"
    "storage.set('\\xff\\xff', 1) storage.set('\\xff\\xffa', 1)\n"
    "local seen, cursor, pages = {}, nil, 0\n"
    "repeat\n"
    "  local keys\n"
    "  keys, cursor = storage.keys{ prefix = 'user:', after = cursor }\n"
    "  pages = pages + 1\n"
    "  for _, k in ipairs(keys) do seen[#seen + 1] = k end\n"
    "until cursor == nil\n"
    "assert(pages == 3 and #seen == 250, #seen)\n"
    "for i = 1, 250 do assert(seen[i] == string.format('user:%03d', i)) end\n"
    "local keys, more = storage.keys{ prefix = 'user:2', limit = 51 }\n"
    "assert(#keys == 51 and more == nil)\n"
    "keys = storage.keys{ prefix = '\\xff\\xff' }\n"
    "assert(#keys == 2 and keys[2] == '\\xff\\xffa')\n"
    "keys = storage.keys{ limit = 2 }\n"
    "assert(keys[1] == 'other' and keys[2] == 'user')\n"
    "assert(#storage.keys{ prefix = 'zzz' } == 0)\n"
    "local ok, err = pcall(storage.keys, { limit = 0 })\n"
    "assert(not ok and err:find(\"'limit' must be an integer from 1 to "
    "1000\"), err)\n"
    "ok, err = pcall(storage.keys, { prefix = {} })\n"
    "assert(not ok and err:find(\"'prefix' must be a string\"), err)");
}

/* A page of keys pays for each key, a row read and a string made, not
** only for its bytes: 70 pages of 1,000 short keys cost some 130,000
** instructions by the bytes, yet kept the host as long as some 2M plain
** ones (paging in a loop ran 21 times longer than the budget allows);
** they are over a budget of 1M. */
static void storage_keys_pay_for_each_key(void **state) {
  fixture *f = *state;
  use_storage(f, NULL, 0, 0);
  assert_int_equal(load(f, "pager", "{}",
    "if v == 'fill' then\n"
    "  for i = 1, 1000 do storage.set(string.format('k%04d', i), 1) end\n"
    "else\n"
    "  for i = 1, 70 do assert(#storage.keys{ limit = 1000 } == 1000) end\n"
    "end"), LPLUG_OK);
  go_ok(f, "pager", "fill");
  assert_int_equal(go_with(f->e, "pager", "page", NULL), LPLUG_ECPU);
  assert_non_null(strstr(f->log.last_message,
                         "instruction budget of 1000000"));
}

/* An option keys does not know, or of the wrong type, is a mistake said
** as an argument error naming it: {prfix = 'user:'} would otherwise
** list every key, {prefix = 5} the keys starting "5". */
static void storage_keys_refuses_unknown_and_mistyped_options(void **state) {
  fixture *f = *state;
  check(f, "options",
    "storage.set('5x', 1) storage.set('user:1', 1)\n"
    "local function refused(opts, text)\n"
    "  local ok, err = pcall(storage.keys, opts)\n"
    "  assert(not ok and err:find(text, 1, true), err)\n"
    "  assert(err:find('bad argument #1 to', 1, true), err)\n"
    "end\n"
    "refused({ bogus = 1 }, \"(unknown option 'bogus'; the options are \"\n"
    "        .. 'prefix, after, limit)')\n"
    "refused({ 'user:' }, '(unknown option, a number key; the options')\n"
    "refused({ prefix = 5 }, \"('prefix' must be a string, got number)\")\n"
    "refused({ after = true }, \"('after' must be a string, got boolean)\")\n"
    "refused({ limit = '10' }, \"('limit' must be an integer from 1 to \"\n"
    "        .. '1000, got string)')\n"
    "refused({ limit = 2.5 }, 'from 1 to 1000, got 2.5)')\n"
    "assert(#storage.keys{ prefix = 'user:', limit = 10 } == 1)\n"
    "assert(#storage.keys{} == 2)");
}

/* A page is one range of keys: the larger of the prefix and the key
** after the cursor starts it, whichever way round they sort. */
static void storage_keys_start_where_prefix_and_cursor_say(void **state) {
  fixture *f = *state;
  check(f, "ranges",
    "for _, k in ipairs{'a', 'ab', 'ab\\0', 'abc', 'b', '\\xffx'} do\n"
    "  storage.set(k, 1)\n"
    "end\n"
    "local function list(q) return table.concat(storage.keys(q), ',') end\n"
    "assert(list{ prefix = 'ab' } == 'ab,ab\\0,abc')\n"
    "assert(list{ prefix = 'ab', after = 'ab' } == 'ab\\0,abc')\n"
    "assert(list{ prefix = 'ab', after = 'a' } == 'ab,ab\\0,abc')\n"
    "assert(list{ prefix = 'a', after = 'ab' } == 'ab\\0,abc')\n"
    "assert(list{ prefix = 'b', after = 'a' } == 'b')\n"
    "assert(list{ prefix = 'a', after = 'b' } == '')\n"
    "assert(list{ after = 'abc' } == 'b,\\xffx')\n"
    "assert(list{ prefix = '\\xff' } == '\\xffx')\n"
    "assert(list{ after = ('a'):rep(1024) } == 'ab,ab\\0,abc,b,\\xffx')");
}

/* A write near the quota after a deletion recounts the plugin's usage,
** which reads every entry: it is charged per entry, so a plugin looping
** on it is stopped after a few turns, not hundreds. */
static void storage_recount_is_charged_per_entry(void **state) {
  fixture *f = *state;
  lplug_value *v;
  int ok = 0;
  assert_int_equal(load(f, "recount", "{ quota: 64KB }",
    "if v == 'fill' then\n"
    "  local n = 0\n"
    "  while storage.set(string.format('%05d', n), 0) do n = n + 1 end\n"
    "elseif v == 'loop' then\n"
    "  TURNS = 0\n"
    "  while true do\n"
    "    storage.delete('00001'); storage.set('00001', 0)\n"
    "    TURNS = TURNS + 1\n"
    "  end\n"
    "end\n"
    "return TURNS"), LPLUG_OK);
  for (int i = 0; i < 20; i++) go_with(f->e, "recount", "fill", NULL);
  assert_int_equal(go_with(f->e, "recount", "loop", NULL), LPLUG_ECPU);
  assert_int_equal(go_with(f->e, "recount", "count", &v), LPLUG_OK);
  if (lplug_value_integer(v, 0, &ok) > 100)
    print_error("%lld turns\n", lplug_value_integer(v, 0, &ok));
  assert_true(ok && lplug_value_integer(v, 0, NULL) <= 100);
  lplug_value_free(v);
}

static void storage_needs_the_capability_and_the_grant(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "undeclared", NULL,
    "local ok, err = pcall(require, 'lplug.storage')\n"
    "assert(not ok and err:find(\"plugin 'undeclared' lacks capability "
    "'storage'\"), err)"), LPLUG_OK);
  go_ok(f, "undeclared", NULL);
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(f->e, "undeclared", &st), LPLUG_OK);
  assert_int_equal(st.denials, 1);
  assert_int_equal(st.storage_quota, 0);
  assert_int_equal(st.storage_bytes, 0);

  lplug_config c = {0};  /* a host granting nothing */
  lplug_engine_free(f->e);
  f->e = support_engine_with(&f->log, &c);
  assert_int_equal(load(f, "refused", "{}", ""), LPLUG_ERUNTIME);
  assert_non_null(strstr(f->log.last_message, "the host does not grant "
                         "capability 'hooks' to plugin 'refused'") ||
                  strstr(f->log.last_message, "the host does not grant "
                         "capability 'storage' to plugin 'refused'"));
}

/* Grants everything declared but storage. */
static int all_but_storage(void *ud, const char *plugin, const char *cap,
                           const char *item) {
  (void)ud; (void)plugin; (void)item;
  return strcmp(cap, "storage") != 0;
}

static void storage_refused_by_the_host_is_never_opened(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  lplug_config c = {0};
  lplug_engine_free(f->e);
  c.grant = all_but_storage;
  c.storage_path = db;
  f->e = support_engine_with(&f->log, &c);
  assert_int_equal(load(f, "refused", "{}", ""), LPLUG_ERUNTIME);
  assert_non_null(strstr(f->log.last_message, "the host does not grant "
                         "capability 'storage' to plugin 'refused'"));
  assert_int_equal(access(db, F_OK), -1);  /* no file was made for it */
  free(db);
}

/* The engine keeps its own copy of storage_path: the host's string may
** be freed or reused once lplug_engine_new returns (the database opens
** later, with the first plugin that uses storage). */
static void storage_path_is_the_engines_own_copy(void **state) {
  fixture *f = *state;
  char *db = db_path(f), *elsewhere = db_path(f);
  lplug_config c = {0};
  lplug_engine_free(f->e);
  c.grant = lplug_grant_declared;
  c.storage_path = db;
  f->e = support_engine_with(&f->log, &c);
  strcpy(strrchr(db, '/'), "/moved.db");  /* the host reuses its buffer */
  assert_int_equal(load(f, "keeper", "{}", "return storage.incr('runs')"),
                   LPLUG_OK);
  assert_int_equal(result_of(f->e, "keeper", NULL), 1);
  assert_int_equal(lplug_storage_flush(f->e), LPLUG_OK);
  assert_int_equal(access(elsewhere, F_OK), 0);  /* test.db, as configured */
  assert_int_equal(access(db, F_OK), -1);
  free(db);
  free(elsewhere);
}

static void storage_survives_the_engine(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  for (int batch = 0; batch <= 60000; batch += 60000) {
    use_storage(f, db, batch, 0);
    assert_int_equal(load(f, "keeper", "{}", "return storage.incr('runs')"),
                     LPLUG_OK);
    long long before = result_of(f->e, "keeper", NULL);
    assert_int_equal(result_of(f->e, "keeper", NULL), before + 1);
    use_storage(f, db, batch, 0);  /* frees the engine: a new process */
    assert_int_equal(load(f, "keeper", "{}", "return storage.incr('runs')"),
                     LPLUG_OK);
    assert_int_equal(result_of(f->e, "keeper", NULL), before + 2);
  }
  free(db);
}

/* Another engine on the storage file `db`, as another process would be,
** running plugin `name` (the same plugin, from a folder of its own). */
typedef struct other_engine {
  lplug_engine *e;
  support_log log;
  char *root;
} other_engine;

static void other_open(other_engine *o, const char *db, size_t quota,
                       const char *name, const char *body) {
  lplug_config c = {0};
  c.grant = lplug_grant_declared;
  c.storage_path = db;
  c.storage_quota = quota;
  o->e = support_engine_with(&o->log, &c);
  o->root = support_tmpdir();
  assert_int_equal(load_into(o->e, o->root, name, "{}", body), LPLUG_OK);
}

static void other_close(other_engine *o) {
  lplug_engine_free(o->e);
  support_rmtree(o->root);
  free(o->root);
}

static void storage_batches_until_flushed(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  other_engine other;
  use_storage(f, db, 60000, 0);
  assert_int_equal(load(f, "batched", "{}", "storage.incr('n')"), LPLUG_OK);
  go_ok(f, "batched", NULL);
  go_ok(f, "batched", NULL);
  other_open(&other, db, 0, "batched", "return storage.get('n') or 0");
  assert_int_equal(result_of(other.e, "batched", NULL), 0);  /* not yet */
  assert_int_equal(lplug_storage_flush(f->e), LPLUG_OK);
  assert_int_equal(result_of(other.e, "batched", NULL), 2);
  other_close(&other);
  free(db);
}

/* Two engines on one file running the same plugin (as two processes
** would): the quota bounds the plugin's entries in the file, not what
** each engine wrote; each sees the other's commits before counting. */
static void storage_quota_holds_across_engines_sharing_a_file(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  other_engine other;
  use_storage(f, db, 0, 4096);
  /* an entry "a1" .. "b3" of 1000 x's costs 2 + 1004 + 32 = 1038: three
  ** fit in 4096, four do not */
  const char *body =
    "if v == 'count' then return #storage.keys() end\n"
    "return storage.set(v, string.rep('x', 1000)) and 1 or 0";
  assert_int_equal(load(f, "shared", "{}", body), LPLUG_OK);
  other_open(&other, db, 4096, "shared", body);
  long long stored = 0;
  stored += result_of(f->e, "shared", "a1");
  stored += result_of(other.e, "shared", "b1");
  stored += result_of(f->e, "shared", "a2");
  stored += result_of(other.e, "shared", "b2");
  stored += result_of(f->e, "shared", "a3");
  stored += result_of(other.e, "shared", "b3");
  assert_int_equal(stored, 3);
  assert_int_equal(result_of(f->e, "shared", "count"), 3);
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(other.e, "shared", &st), LPLUG_OK);
  assert_int_equal(st.storage_bytes, 3 * 1038);
  other_close(&other);
  free(db);
}

static void storage_refuses_a_file_that_is_not_its_own(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "CREATE TABLE accounts (id INTEGER)",
                                NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h);
  use_storage(f, db, 0, 0);
  assert_int_equal(load(f, "intruder", "{}", ""), LPLUG_EIO);
  assert_non_null(strstr(f->log.last_message, "is not an lplug storage "
                         "file"));
  /* and a folder that does not exist */
  use_storage(f, "/no/such/folder/x.db", 0, 0);
  assert_int_equal(load(f, "nowhere", "{}", ""), LPLUG_EIO);
  assert_non_null(strstr(f->log.last_message, "storage: cannot open "
                         "'/no/such/folder/x.db'"));
  free(db);
}

static void storage_reports_a_damaged_value(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  sqlite3 *h;
  use_storage(f, db, 0, 0);
  assert_int_equal(load(f, "damaged", "{}",
    "if v then return storage.get('x') end storage.set('x', { 1, 2, 3 })"),
    LPLUG_OK);
  go_ok(f, "damaged", NULL);
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "UPDATE lplug_storage SET value = "
                   "x'06ffffff7f01' WHERE plugin = 'damaged'", NULL, NULL,
                   NULL), SQLITE_OK);
  sqlite3_close(h);
  assert_int_equal(go_with(f->e, "damaged", "read", NULL), LPLUG_ERUNTIME);
  assert_non_null(strstr(f->log.last_message, "storage.get: storage: the "
                         "value stored under 'x' is damaged"));
  free(db);
}

/* Runs `calls` calls of plugin "shared" (folder root/shared) on db in a
** child process; the child exits 0 when all went well. */
static pid_t incrementer(fixture *f, const char *db, int calls) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    support_log log;
    lplug_config c = {0};
    char dir[4200];
    int ok;
    c.grant = lplug_grant_declared;
    c.storage_path = db;
    lplug_engine *e = support_engine_with(&log, &c);
    lplug_hook_define(e, "shared", LPLUG_HOOK_FAIL_CLOSED, NULL);
    snprintf(dir, sizeof dir, "%s/shared", f->root);
    ok = lplug_load_plugin(e, dir) == LPLUG_OK;
    for (int i = 0; ok && i < calls; i++)
      ok = go_with(e, "shared", NULL, NULL) == LPLUG_OK;
    if (!ok) fprintf(stderr, "child: %s\n", log.last_message);
    lplug_engine_free(e);
    _exit(ok ? 0 : 1);
  }
  return pid;
}

static void storage_two_processes_share_one_file(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  int status;
  use_storage(f, db, 0, 0);
  assert_int_equal(load(f, "shared", "{}",
    "if v then return storage.get('n') end storage.incr('n')"), LPLUG_OK);
  pid_t a = incrementer(f, db, 300), b = incrementer(f, db, 300);
  assert_int_equal(waitpid(a, &status, 0), a);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(waitpid(b, &status, 0), b);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(result_of(f->e, "shared", "read"), 600);
  free(db);
}

static void storage_survives_a_killed_process(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  int fds[2], status;
  long long reported = 0, n;
  assert_int_equal(load(f, "pairs", "{}",
    "if v then\n"
    "  local a, b = storage.get('a'), storage.get('b')\n"
    "  assert(a == b, ('a = %s, b = %s'):format(a, b))\n"
    "  assert(#storage.get('filler') == a % 500)\n"
    "  return a\n"
    "end\n"
    "local n = storage.incr('a')\n"
    "storage.set('filler', string.rep('z', n % 500))\n"
    "storage.set('b', n)"), LPLUG_OK);
  lplug_engine_free(f->e);
  f->e = NULL;
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {  /* writes pairs forever, telling how far it got */
    support_log log;
    lplug_config c = {0};
    char dir[4200];
    close(fds[0]);
    c.grant = lplug_grant_declared;
    c.storage_path = db;
    lplug_engine *e = support_engine_with(&log, &c);
    lplug_hook_define(e, "pairs", LPLUG_HOOK_FAIL_CLOSED, NULL);
    snprintf(dir, sizeof dir, "%s/pairs", f->root);
    if (lplug_load_plugin(e, dir) != LPLUG_OK) _exit(1);
    for (long long i = 1;; i++) {
      if (go_with(e, "pairs", NULL, NULL) != LPLUG_OK) _exit(1);
      if (write(fds[1], &i, sizeof i) != sizeof i) _exit(1);
    }
  }
  close(fds[1]);
  while (reported < 300 && read(fds[0], &n, sizeof n) == sizeof n)
    reported = n;
  kill(pid, SIGKILL);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  close(fds[0]);
  assert_true(reported >= 300);

  sqlite3 *h;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st,
                                      NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
  sqlite3_close(h);
  /* every call the child finished is there, and no call is there in part */
  use_storage(f, db, 0, 0);
  assert_int_equal(lplug_load_plugin(f->e, "x"), LPLUG_EIO);  /* no folder */
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/pairs", f->root);
  lplug_hook_define(f->e, "pairs", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  assert_true(result_of(f->e, "pairs", "check") >= reported);
  free(db);
}

/* An on_log callback flushing flush_engine from inside the plugin's call
** (print reaches the host while the call runs). */
static lplug_engine *flush_engine;
static int flush_rc;

static void flush_from_log(void *ud, int level, const char *plugin,
                           const char *message) {
  (void)ud; (void)level; (void)plugin; (void)message;
  flush_rc = lplug_storage_flush(flush_engine);
}

static void storage_flush_is_refused_inside_a_call(void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  assert_int_equal(lplug_storage_flush(f->e), LPLUG_OK);  /* nothing open */
  c.grant = lplug_grant_declared;
  c.storage_batch_ms = 60000;
  c.on_log = flush_from_log;
  flush_engine = lplug_engine_new(&c);
  assert_non_null(flush_engine);
  assert_int_equal(load_into(flush_engine, f->root, "flusher", "{}",
                             "storage.set('x', 1) print('now')"), LPLUG_OK);
  flush_rc = 1;
  assert_int_equal(go_with(flush_engine, "flusher", NULL, NULL), LPLUG_OK);
  assert_int_equal(flush_rc, LPLUG_ESTATE);
  assert_non_null(strstr(lplug_errmsg(flush_engine), "inside a plugin call"));
  assert_int_equal(lplug_storage_flush(flush_engine), LPLUG_OK);
  lplug_engine_free(flush_engine);
}

/* ---- the write set (engine/storage.h): pending writes, nesting ------- */

static void storage_a_call_reads_its_own_writes(void **state) {
  fixture *f = *state;
  for (int batch = 0; batch <= 60000; batch += 60000) {
    char name[32];
    use_storage(f, NULL, batch, 0);
    snprintf(name, sizeof name, "own%d", batch);
    assert_int_equal(load(f, name, "{}",
      "if v == 'check' then\n"
      "  assert(storage.get('x') == 3 and storage.get('gone') == nil)\n"
      "  assert(storage.get('back') == 'again' and storage.get('n') == 1)\n"
      "  assert(storage.get('kept') == 'yes')\n"
      "  return\n"
      "end\n"
      "if v == nil then storage.set('kept', 'yes') return end\n"
      "storage.set('x', 1) storage.set('x', 2)\n"
      "assert(storage.get('x') == 2, 'the newest write wins')\n"
      "assert(storage.incr('x') == 3 and storage.get('x') == 3)\n"
      "storage.set('gone', 1) storage.delete('gone')\n"
      "assert(storage.get('gone') == nil, 'set then delete')\n"
      "storage.delete('back') storage.set('back', 'again')\n"
      "assert(storage.get('back') == 'again', 'delete then set')\n"
      "storage.set('n', 7) storage.delete('n')\n"
      "assert(storage.incr('n') == 1, 'a pending deletion counts as 0')\n"
      "assert(storage.get('kept') == 'yes', 'the table under the set')\n"
      "storage.delete('kept')\n"
      "assert(storage.get('kept') == nil)\n"
      "storage.set('kept', 'yes')\n"
      "local t = storage.get('t') or {}\n"
      "storage.set('t', { 1, { 2 } })\n"
      "t = storage.get('t') t[2][1] = 'changed'  -- a copy\n"
      "assert(storage.get('t')[2][1] == 2)\n"
      "storage.delete('t')"), LPLUG_OK);
    go_ok(f, name, NULL);
    go_ok(f, name, "write");
    go_ok(f, name, "check");
    lplug_stats st;
    assert_int_equal(lplug_plugin_stats(f->e, name, &st), LPLUG_OK);
    assert_int_equal(st.storage_bytes, 4 * 32 + (1 + 1) + (4 + 6) +
                     (4 + 8) + (1 + 1));  /* x, kept, back, n */
  }
}

static void storage_keys_see_the_pending_writes(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "listed", "{}",
    "if v == nil then storage.set('k0', 0) storage.set('k9', 9) return end\n"
    "local function all()\n"
    "  local t = {}\n"
    "  for _, k in ipairs(storage.keys()) do t[#t + 1] = k end\n"
    "  return table.concat(t, ' ')\n"
    "end\n"
    "if v == 'list' then return all() end\n"
    "storage.delete('k0') storage.set('k1', 1) storage.set('k2', 2)\n"
    "assert(all() == 'k1 k2 k9', all())\n"
    "storage.set('k3', 3)  -- written after the keys were listed\n"
    "assert(storage.get('k0') == nil and storage.get('k3') == 3)\n"
    "assert(all() == 'k1 k2 k3 k9', all())\n"
    "if v == 'fail' then error('undo') end"), LPLUG_OK);
  go_ok(f, "listed", NULL);
  lplug_value *out;
  assert_int_equal(go_with(f->e, "listed", "fail", NULL), LPLUG_ERUNTIME);
  assert_int_equal(go_with(f->e, "listed", "list", &out), LPLUG_OK);
  assert_string_equal(lplug_value_string(out, 0, NULL), "k0 k9");
  lplug_value_free(out);
  go_ok(f, "listed", "keep");
  assert_int_equal(go_with(f->e, "listed", "list", &out), LPLUG_OK);
  assert_string_equal(lplug_value_string(out, 0, NULL), "k1 k2 k3 k9");
  lplug_value_free(out);
}

static void storage_a_call_may_write_more_than_the_set_holds(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "many", "{}",
    "if v == 'count' then return #storage.keys{ limit = 1000 } end\n"
    "for i = 1, 100 do storage.set('n' .. i, i) end\n"
    "storage.set('big', string.rep('x', 70000))\n"
    "storage.set('n1', 'last')\n"
    "assert(storage.get('n1') == 'last' and storage.get('n100') == 100)\n"
    "assert(#storage.get('big') == 70000)\n"
    "if v == 'fail' then error('undo') end"), LPLUG_OK);
  assert_int_equal(go_with(f->e, "many", "fail", NULL), LPLUG_ERUNTIME);
  assert_int_equal(result_of(f->e, "many", "count"), 0);
  go_ok(f, "many", NULL);
  assert_int_equal(result_of(f->e, "many", "count"), 101);
}

static void storage_quota_counts_the_pending_writes(void **state) {
  fixture *f = *state;
  use_storage(f, NULL, 0, 4096);
  /* an entry "a" .. "d" of 1500 x's costs 1 + 1504 + 32 = 1537 */
  assert_int_equal(load(f, "tight", "{}",
    "local big = string.rep('x', 1500)\n"
    "if v == nil then\n"
    "  assert(storage.set('a', big)) assert(storage.set('a', big))\n"
    "  assert(storage.set('b', big))  -- a is counted once\n"
    "  return\n"
    "end\n"
    "storage.delete('a')  -- pending: c fits only if the count sees it\n"
    "assert(storage.set('c', big))\n"
    "local ok, err = storage.set('d', big)\n"
    "assert(ok == nil and err:find('(3074 in use, this write needs 1537 "
    "more;', 1, true), err)\n"
    "assert(storage.get('d') == nil)\n"
    "if v == 'fail' then error('undo') end"), LPLUG_OK);
  go_ok(f, "tight", NULL);
  assert_int_equal(go_with(f->e, "tight", "fail", NULL), LPLUG_ERUNTIME);
  assert_non_null(strstr(f->log.last_message, "undo"));
  lplug_stats st;
  assert_int_equal(lplug_plugin_stats(f->e, "tight", &st), LPLUG_OK);
  assert_int_equal(st.storage_bytes, 2 * 1537);  /* a and b */
  go_ok(f, "tight", "keep");
  assert_int_equal(lplug_plugin_stats(f->e, "tight", &st), LPLUG_OK);
  assert_int_equal(st.storage_bytes, 2 * 1537);  /* b and c */
}

/* Nesting: a plugin prints "run HOOK ARG" and the host runs hook point
** HOOK over ARG from inside that call; "stats NAME" reads NAME's usage. */
static lplug_engine *nest_engine;
static int nest_rc;
static long long nest_bytes;

static void nest_from_log(void *ud, int level, const char *plugin,
                          const char *message) {
  char what[16], name[64], arg[64] = "";
  lplug_stats st;
  (void)ud; (void)level; (void)plugin;
  if (sscanf(message, "%15s %63s %63s", what, name, arg) < 2) return;
  if (strcmp(what, "run") == 0) {
    nest_rc = go_with(nest_engine, name, arg[0] ? arg : NULL, NULL);
  } else if (strcmp(what, "stats") == 0) {
    nest_rc = lplug_plugin_stats(nest_engine, name, &st);
    nest_bytes = st.storage_bytes;
  }
}

static void use_nesting(fixture *f, const char *db, int batch_ms) {
  lplug_config c = {0};
  lplug_engine_free(f->e);
  c.storage_path = db;
  c.storage_batch_ms = batch_ms;
  c.instruction_limit = 1000000;
  support_config(&f->log, &c);
  c.on_log = nest_from_log;
  f->e = nest_engine = lplug_engine_new(&c);
  assert_non_null(f->e);
}

/* The sum of the integers plugin `name` stores (its handler answers
** "sum"), then none. */
static long long take_sum(fixture *f, const char *name) {
  long long n = result_of(f->e, name, "sum");
  go_ok(f, name, "clear");
  return n;
}

#define SUM_AND_CLEAR \
  "if v == 'sum' or v == 'clear' then\n" \
  "  local n = 0\n" \
  "  for _, k in ipairs(storage.keys()) do\n" \
  "    n = n + storage.get(k)\n" \
  "    if v == 'clear' then storage.delete(k) end\n" \
  "  end\n" \
  "  return n\n" \
  "end\n"

static void storage_nested_calls_undo_only_their_own_writes(void **state) {
  fixture *f = *state;
  /* v: what the inner call does, what the outer does ("ok"/"fail"), and
  ** whether each moves its write set into savepoints (storage.keys) or
  ** the outer writes only after the inner call ("late") */
  static const char *const inner[] = {"ok", "fail", "moveok", "movefail"};
  static const char *const how[] = {"", "move", "late"};
  for (int batch = 0; batch <= 60000; batch += 60000) {
    use_nesting(f, NULL, batch);
    assert_int_equal(load(f, "inner", "{}", SUM_AND_CLEAR
      "assert(storage.get('o1') == nil, 'the outer writes are not mine')\n"
      "storage.set('i1', 10)\n"
      "if v:find('move') then storage.keys() end\n"
      "storage.set('i2', 20)\n"
      "assert(storage.get('i1') == 10 and storage.get('i2') == 20)\n"
      "if v:find('fail') then error('inner fails') end"), LPLUG_OK);
    assert_int_equal(load(f, "outer", "{}", SUM_AND_CLEAR
      "local inner, me, how = v:match('^(%w+)/(%w+)/(%w*)$')\n"
      "if how ~= 'late' then storage.set('o1', 1) end\n"
      "if how == 'move' then storage.keys() end\n"
      "print('run inner ' .. inner)\n"
      "assert(storage.get('i1') == nil)\n"
      "if how == 'late' then storage.set('o1', 1) end\n"
      "assert(storage.get('o1') == 1)\n"
      "storage.set('o2', 2)\n"
      "if me == 'fail' then error('outer fails') end"), LPLUG_OK);
    for (int i = 0; i < 4; i++)
      for (int outer_fails = 0; outer_fails <= 1; outer_fails++)
        for (int h = 0; h < 3; h++) {
          char arg[64];
          int inner_ok = strstr(inner[i], "fail") == NULL;
          snprintf(arg, sizeof arg, "%s/%s/%s", inner[i],
                   outer_fails ? "fail" : "ok", how[h]);
          nest_rc = -1;
          assert_int_equal(go_with(f->e, "outer", arg, NULL),
                           outer_fails ? LPLUG_ERUNTIME : LPLUG_OK);
          assert_int_equal(nest_rc, inner_ok ? LPLUG_OK : LPLUG_ERUNTIME);
          assert_int_equal(take_sum(f, "outer"), outer_fails ? 0 : 3);
          assert_int_equal(take_sum(f, "inner"),
                           outer_fails || !inner_ok ? 0 : 30);
        }
  }
}

static void storage_a_failed_middle_call_undoes_the_calls_inside_it(
    void **state) {
  fixture *f = *state;
  /* a runs b, b runs c then fails or not; c may move the write set of
  ** all three into savepoints */
  static const char *const args[] = {"ok/stay", "fail/stay", "ok/move",
                                     "fail/move"};
  for (int batch = 0; batch <= 60000; batch += 60000) {
    use_nesting(f, NULL, batch);
    assert_int_equal(load(f, "c", "{}", SUM_AND_CLEAR
      "storage.set('c1', 100)\n"
      "if v == 'move' then storage.keys() end"), LPLUG_OK);
    assert_int_equal(load(f, "b", "{}", SUM_AND_CLEAR
      "local me, c = v:match('^(%w+)/(%w+)$')\n"
      "storage.set('b1', 10)\n"
      "print('run c ' .. c)\n"
      "assert(storage.get('b1') == 10 and storage.get('c1') == nil)\n"
      "if me == 'fail' then error('b fails') end"), LPLUG_OK);
    assert_int_equal(load(f, "a", "{}", SUM_AND_CLEAR
      "storage.set('a1', 1)\n"
      "print('run b ' .. v)\n"
      "storage.set('a2', 2)\n"
      "assert(storage.get('a1') == 1 and storage.get('b1') == nil)"),
      LPLUG_OK);
    for (int i = 0; i < 4; i++) {
      int b_fails = strncmp(args[i], "fail", 4) == 0;
      go_ok(f, "a", args[i]);
      assert_int_equal(nest_rc, b_fails ? LPLUG_ERUNTIME : LPLUG_OK);
      assert_int_equal(take_sum(f, "a"), 3);
      assert_int_equal(take_sum(f, "b"), b_fails ? 0 : 10);
      assert_int_equal(take_sum(f, "c"), b_fails ? 0 : 100);
    }
  }
}

static void storage_usage_read_inside_a_call_counts_its_writes(void **state) {
  fixture *f = *state;
  use_nesting(f, NULL, 0);
  assert_int_equal(load(f, "counted", "{}",
    "storage.set('k', 'value')\n"
    "print('stats counted')\n"
    "if v == 'fail' then error('undo') end"), LPLUG_OK);
  lplug_stats st;
  nest_bytes = -1;
  assert_int_equal(go_with(f->e, "counted", "fail", NULL), LPLUG_ERUNTIME);
  assert_int_equal(nest_rc, LPLUG_OK);
  assert_int_equal(nest_bytes, 1 + 8 + 32);
  assert_int_equal(lplug_plugin_stats(f->e, "counted", &st), LPLUG_OK);
  assert_int_equal(st.storage_bytes, 0);
  go_ok(f, "counted", NULL);
  assert_int_equal(lplug_plugin_stats(f->e, "counted", &st), LPLUG_OK);
  assert_int_equal(st.storage_bytes, 1 + 8 + 32);
}

/* A trigger the test adds makes the table refuse the key "bad": the
** writes of a call that returned fail when written, and the call fails
** with nothing kept. */
static void storage_a_write_refused_at_the_end_fails_the_call(void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  sqlite3 *h;
  use_storage(f, db, 0, 0);
  assert_int_equal(load(f, "refused", "{}",
    "if v == 'count' then return #storage.keys() end\n"
    "if v ~= 'one' then storage.set('fine', 1) end\n"
    "if v == 'fine' then return 0 end\n"
    "storage.set('bad', 1)\n"
    "if v == 'move' then\n"
    "  local ok, err = pcall(storage.keys)\n"
    "  assert(not ok and err:find('refused'), err)\n"
    "  assert(storage.get('fine') == 1 and storage.get('bad') == 1)\n"
    "end\n"
    "return 0"), LPLUG_OK);
  go_ok(f, "refused", "fine");  /* the table exists */
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "DELETE FROM lplug_storage; "
    "CREATE TRIGGER no_bad BEFORE INSERT ON lplug_storage "
    "WHEN NEW.key = x'626164' BEGIN SELECT RAISE(ABORT, 'refused'); END",
    NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h);
  /* the file changed: this call counts the plugin's entries again, so
  ** that the writes below fit without a count and wait in the set */
  go_ok(f, "refused", "fine");
  const char *kinds[] = {"one", "two", "move"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(go_with(f->e, "refused", kinds[i], NULL), LPLUG_EIO);
    assert_non_null(strstr(f->log.last_message, "plugin 'refused': "
                           "storage: write failed: refused"));
    assert_int_equal(result_of(f->e, "refused", "count"), 1);
  }
  free(db);
}

/* Some failures (I/O, a full disk) make SQLite roll the whole
** transaction back by itself, the running call's savepoint with it; a
** trigger raising ROLLBACK does the same on demand.  A call that catches
** the failed write and goes on must not keep what it writes after (that
** was written outside any savepoint), nor return as if its writes were
** kept: it fails, with nothing kept, and says what was lost. */
static void storage_a_transaction_the_database_rolls_back_fails_the_call(
    void **state) {
  fixture *f = *state;
  char *db = db_path(f);
  for (int batch = 0; batch <= 60000; batch += 60000) {
    char name[32];
    sqlite3 *h;
    unlink(db);
    use_storage(f, db, batch, 0);
    snprintf(name, sizeof name, "rolled%d", batch);
    assert_int_equal(load(f, name, "{}",
      "if v == 'count' then return #storage.keys() end\n"
      "if v == 'fine' or v == 'more' then storage.set(v, 1) return 0 end\n"
      "storage.set('a', 1)\n"
      "storage.keys()  -- 'a' into the table, under the call's savepoint\n"
      "local ok, err = pcall(storage.set, 'bad', 1)\n"
      "assert(not ok and err:find('rolled its transaction back'), err)\n"
      "if v == 'goes on' then storage.set('c', 1) end\n"
      "return 0"), LPLUG_OK);
    go_ok(f, name, "fine");  /* the table exists */
    assert_int_equal(lplug_storage_flush(f->e), LPLUG_OK);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TRIGGER no_bad BEFORE INSERT "
      "ON lplug_storage WHEN NEW.key = x'626164' "
      "BEGIN SELECT RAISE(ROLLBACK, 'refused'); END", NULL, NULL, NULL),
      SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(go_with(f->e, name, "goes on", NULL), LPLUG_ERUNTIME);
    assert_non_null(strstr(f->log.last_message, "storage.set: storage: the "
                           "running call's writes are lost, and it cannot "
                           "write more (storage: write failed: refused"));
    assert_int_equal(go_with(f->e, name, "returns", NULL), LPLUG_EIO);
    assert_non_null(strstr(f->log.last_message, "storage: none of the "
                           "call's writes are kept (storage: write failed: "
                           "refused; the database rolled its transaction "
                           "back"));
    assert_int_equal(result_of(f->e, name, "count"), 1);
    /* a batch open when it happened is lost with it, as the message says */
    go_ok(f, name, "more");
    assert_int_equal(go_with(f->e, name, "returns", NULL), LPLUG_EIO);
    assert_int_equal(lplug_storage_flush(f->e), LPLUG_OK);
    assert_int_equal(result_of(f->e, name, "count"), batch ? 1 : 2);
    go_ok(f, name, "more");  /* and the storage works on */
    assert_int_equal(lplug_storage_flush(f->e), LPLUG_OK);
    assert_int_equal(result_of(f->e, name, "count"), 2);
  }
  free(db);
}

/* Each call's write waits at the same place of the write set, so the
** key and value of the next call, as long as the last ones, are where
** SQLite has them bound already (engine/storage.c skips binding them
** again): what is written must still be each call's own, also after a
** write that went to the table directly, bound elsewhere. */
static void storage_writes_of_the_same_size_keep_their_own_bytes(
    void **state) {
  fixture *f = *state;
  for (int batch = 0; batch <= 60000; batch += 60000) {
    char name[32];
    lplug_value *out;
    use_storage(f, NULL, batch, 0);
    snprintf(name, sizeof name, "same%d", batch);
    assert_int_equal(load(f, name, "{}",
      "if v == 'dump' then\n"
      "  local t = {}\n"
      "  for _, k in ipairs(storage.keys()) do\n"
      "    t[#t + 1] = k .. '=' .. tostring(storage.get(k))\n"
      "  end\n"
      "  return table.concat(t, ' ')\n"
      "end\n"
      "if v == 'move' then\n"
      "  storage.set('ka', 'AA')\n"
      "  storage.keys()  -- moves the write set into the table\n"
      "  storage.set('kb', 'BB')  -- written there, bound elsewhere\n"
      "  return\n"
      "end\n"
      "if v:sub(1, 4) == 'del ' then storage.delete(v:sub(5)) return end\n"
      "storage.set(v, v:upper())"), LPLUG_OK);
    const char *calls[] = {"kx", "ky", "move", "kc", "kd", "del kx",
                           "del ky", "kz", "del kz"};
    for (size_t i = 0; i < sizeof calls / sizeof *calls; i++)
      go_ok(f, name, calls[i]);
    assert_int_equal(go_with(f->e, name, "dump", &out), LPLUG_OK);
    assert_string_equal(lplug_value_string(out, 0, NULL),
                        "ka=AA kb=BB kc=KC kd=KD");
    lplug_value_free(out);
  }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, fixture_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(storage_keeps_every_kind_of_value),
    T(storage_keeps_integers_of_every_size),
    T(storage_incr_counts_from_zero),
    T(storage_keys_must_be_sensible),
    T(storage_failed_call_keeps_nothing),
    T(storage_writes_are_charged_to_the_budget),
    T(storage_usage_is_restored_when_a_call_fails),
    T(storage_quota_refuses_what_does_not_fit),
    T(storage_quota_of_the_manifest_is_a_ceiling_check),
    T(storage_plugins_never_see_each_other),
    T(storage_keys_come_in_pages),
    T(storage_keys_pay_for_each_key),
    T(storage_keys_start_where_prefix_and_cursor_say),
    T(storage_keys_refuses_unknown_and_mistyped_options),
    T(storage_recount_is_charged_per_entry),
    T(storage_needs_the_capability_and_the_grant),
    T(storage_refused_by_the_host_is_never_opened),
    T(storage_path_is_the_engines_own_copy),
    T(storage_survives_the_engine),
    T(storage_batches_until_flushed),
    T(storage_quota_holds_across_engines_sharing_a_file),
    T(storage_refuses_a_file_that_is_not_its_own),
    T(storage_reports_a_damaged_value),
    T(storage_two_processes_share_one_file),
    T(storage_survives_a_killed_process),
    T(storage_flush_is_refused_inside_a_call),
    T(storage_a_call_reads_its_own_writes),
    T(storage_keys_see_the_pending_writes),
    T(storage_a_call_may_write_more_than_the_set_holds),
    T(storage_quota_counts_the_pending_writes),
    T(storage_nested_calls_undo_only_their_own_writes),
    T(storage_a_failed_middle_call_undoes_the_calls_inside_it),
    T(storage_usage_read_inside_a_call_counts_its_writes),
    T(storage_a_write_refused_at_the_end_fails_the_call),
    T(storage_a_transaction_the_database_rolls_back_fails_the_call),
    T(storage_writes_of_the_same_size_keep_their_own_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
