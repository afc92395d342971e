/*
** test_config.c -- lplug.config: the manifest's schema and its errors,
** defaults and the host's overrides (C API and settings file), the load
** errors naming plugin and key, and a configuration that stays read-only
** whatever the plugin tries.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "engine/manifest.h"

#define SCHEMA                                                             \
  "  threshold: { type: integer, default: 10, min: 1, max: 1000,\n"        \
  "               description: alert above this many per minute }\n"       \
  "  mode: { type: string, default: fast, enum: [fast, exact] }\n"         \
  "  ratio: { type: number, default: 1 }\n"                                \
  "  verbose: { type: boolean, default: false }\n"                         \
  "  servers: { type: list, default: [a.example, b.example] }\n"           \
  "  opts: { type: map, default: { retries: 3, deep: { x: 1 } } }\n"       \
  "  label: { type: string }\n"

/* Writes plugin `name` with config schema `schema` (lines under config:)
** whose handler on fail-closed hook "t" runs `body` with `config` in
** scope, and loads it.  Declares capability config unless `bare`. */
static int load(fixture *f, const char *name, const char *schema,
                const char *body, int bare) {
  char yaml[2048], code[4096];
  snprintf(yaml, sizeof yaml, "name: %s\nversion: 1.0.0\ncapabilities:\n"
           "  hooks: [t]\n%sconfig:\n%s", name, bare ? "" : "  config: {}\n",
           schema);
  snprintf(code, sizeof code,
           "local hooks = require 'lplug.hooks'\n"
           "local config = %s\n"
           "hooks.on('t', function(v)\n%s\nend)\n",
           bare ? "nil" : "require 'lplug.config'", body);
  if (lplug_hook_find(f->e, "t") == NULL)
    lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  char *dir = support_plugin(f->root, name, yaml, code);
  int rc = lplug_load_plugin(f->e, dir);
  free(dir);
  return rc;
}

/* Runs hook "t" and returns its code; the result in *out if out. */
static int run(fixture *f, lplug_value *out) {
  lplug_value *nil = NULL;
  if (out == NULL) out = nil = lplug_value_new();
  int rc = lplug_hook_run(f->e, "t", out);
  if (rc != LPLUG_OK) print_error("%s\n", f->log.last_message);
  lplug_value_free(nil);
  return rc;
}

static lplug_value *json(const char *text) {
  lplug_value *v = NULL;
  assert_int_equal(lplug_value_from_json(NULL, text, strlen(text), &v),
                   LPLUG_OK);
  return v;
}

static void configure(fixture *f, const char *plugin, const char *values) {
  lplug_value *v = json(values);
  assert_int_equal(lplug_plugin_configure(f->e, plugin, v), LPLUG_OK);
  lplug_value_free(v);
}

/* Asserts that loading plugin `alert` (SCHEMA) with the host's `values`
** fails with exactly `message`, and that nothing of it stays. */
static void load_fails(fixture *f, const char *values, const char *message) {
  configure(f, "alert", values);
  int rc = load(f, "alert", SCHEMA, "", 0);
  if (rc != LPLUG_EMANIFEST || strcmp(lplug_errmsg(f->e), message) != 0)
    print_error("got %s: %s\n", lplug_errname(rc), lplug_errmsg(f->e));
  assert_int_equal(rc, LPLUG_EMANIFEST);
  assert_string_equal(lplug_errmsg(f->e), message);
  assert_string_equal(f->log.last_message, message);
  assert_string_equal(f->log.last_plugin, "alert");
  assert_int_equal(lplug_plugin_count(f->e), 0);
}

/* Asserts that the manifest with config section `schema` is refused with
** exactly `message`. */
static void schema_fails(const char *schema, const char *message) {
  char yaml[2048], err[512] = "";
  manifest *m = NULL;
  int n = snprintf(yaml, sizeof yaml, "name: a\nversion: 1.0.0\nconfig:\n%s",
                   schema);
  int rc = manifest_parse(yaml, (size_t)n, "plugin.yaml", &m, err, sizeof err,
                          NULL, NULL);
  if (rc != LPLUG_EMANIFEST || strcmp(err, message) != 0)
    print_error("got %s: %s\n", lplug_errname(rc), err);
  assert_int_equal(rc, LPLUG_EMANIFEST);
  assert_null(m);
  assert_string_equal(err, message);
}

/* ---- values -------------------------------------------------------------- */

static void config_defaults_are_read(void **state) {
  fixture *f = *state;
  lplug_value *v = lplug_value_new();
  assert_int_equal(load(f, "alert", SCHEMA,
    "assert(config.threshold == 10 and math.type(config.threshold) == "
    "'integer')\n"
    "assert(config.mode == 'fast')\n"
    "assert(config.ratio == 1 and math.type(config.ratio) == 'float')\n"
    "assert(config.verbose == false)\n"
    "assert(config.servers[2] == 'b.example' and #config.servers == 2)\n"
    "assert(config.opts.retries == 3 and config.opts.deep.x == 1)\n"
    "assert(config.label == nil and config.nothing == nil)\n"
    "local n = 0\n"
    "for k, val in pairs(config) do n = n + 1 end\n"
    "assert(n == 6, n)\n"
    "local s = {}\n"
    "for i, x in ipairs(config.servers) do s[i] = x end\n"
    "assert(table.concat(s, ',') == 'a.example,b.example')\n"
    "assert(table.concat(config.servers, ',') == 'a.example,b.example')\n"
    "return config()", 0), LPLUG_OK);
  assert_int_equal(run(f, v), LPLUG_OK);
  char *text = lplug_value_to_json(v, NULL);
  assert_non_null(strstr(text, "\"threshold\":10"));
  assert_non_null(strstr(text, "\"servers\":[\"a.example\",\"b.example\"]"));
  lplug_free(text);
  lplug_value_free(v);
}

static void config_host_overrides_replace_defaults(void **state) {
  fixture *f = *state;
  configure(f, "alert", "{\"threshold\": 50, \"mode\": \"exact\", "
                        "\"ratio\": 2, \"servers\": [\"c\"], "
                        "\"label\": \"x\", \"opts\": {}}");
  assert_int_equal(load(f, "alert", SCHEMA,
    "assert(config.threshold == 50 and config.mode == 'exact')\n"
    "assert(config.ratio == 2.0 and math.type(config.ratio) == 'float')\n"
    "assert(#config.servers == 1 and config.servers[1] == 'c')\n"
    "assert(config.label == 'x' and config.opts.retries == nil)\n"
    "assert(config.verbose == false)\n", 0), LPLUG_OK);
  assert_int_equal(run(f, NULL), LPLUG_OK);
}

static void config_integral_float_passes_as_integer(void **state) {
  fixture *f = *state;
  configure(f, "alert", "{\"threshold\": 20.0}");
  assert_int_equal(load(f, "alert", SCHEMA,
    "assert(math.type(config.threshold) == 'integer' and "
    "config.threshold == 20)", 0), LPLUG_OK);
  assert_int_equal(run(f, NULL), LPLUG_OK);
}

static void config_bad_overrides_are_load_errors(void **state) {
  fixture *f = *state;
  load_fails(f, "{\"threshold\": 5000}",
             "plugin 'alert': config.threshold: 5000 is over the maximum "
             "1000 (set by the host)");
  load_fails(f, "{\"threshold\": 0}",
             "plugin 'alert': config.threshold: 0 is under the minimum 1 "
             "(set by the host)");
  load_fails(f, "{\"threshold\": \"ten\"}",
             "plugin 'alert': config.threshold: expected an integer, got the "
             "string 'ten' (set by the host)");
  load_fails(f, "{\"threshold\": 2.5}",
             "plugin 'alert': config.threshold: expected an integer, got the "
             "number 2.5 (set by the host)");
  load_fails(f, "{\"mode\": \"slow\"}",
             "plugin 'alert': config.mode: 'slow' is not one of: 'fast', "
             "'exact' (set by the host)");
  load_fails(f, "{\"label\": 7}",
             "plugin 'alert': config.label: expected a string, got the "
             "integer 7 (quote it to make it a string) (set by the host)");
  load_fails(f, "{\"verbose\": \"yes\"}",
             "plugin 'alert': config.verbose: expected true or false, got "
             "the string 'yes' (set by the host)");
  load_fails(f, "{\"servers\": {\"a\": 1}}",
             "plugin 'alert': config.servers: expected a list, got a map "
             "(set by the host)");
  load_fails(f, "{\"opts\": [1, 2]}",
             "plugin 'alert': config.opts: expected a map (string keys), got "
             "a list (set by the host)");
}

static void config_undeclared_override_is_a_load_error(void **state) {
  fixture *f = *state;
  load_fails(f, "{\"treshold\": 5}",
             "plugin 'alert': config.treshold: set by the host, but the "
             "plugin declares no such key (it declares: threshold, mode, "
             "ratio, verbose, servers, opts, label; see config: in its "
             "plugin.yaml)");
}

static void config_required_key_must_be_set(void **state) {
  fixture *f = *state;
  const char *schema = "  token: { type: string, required: true }\n";
  assert_int_equal(load(f, "need", schema, "", 0), LPLUG_EMANIFEST);
  assert_string_equal(lplug_errmsg(f->e),
    "plugin 'need': config.token: required, and the host sets no value (set "
    "it under config: { need: { token: ... } } in the host settings file, or "
    "with lplug_plugin_configure)");
  configure(f, "need", "{\"token\": \"s3cret\"}");
  assert_int_equal(load(f, "need", schema, "return config.token", 0),
                   LPLUG_OK);
  lplug_value *v = lplug_value_new();
  assert_int_equal(run(f, v), LPLUG_OK);
  assert_string_equal(lplug_value_string(v, 0, NULL), "s3cret");
  lplug_value_free(v);
}

static void config_without_schema_is_empty(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "plain", "  {}\n",
    "assert(next(config()) == nil and config.x == nil)", 0), LPLUG_OK);
  assert_int_equal(run(f, NULL), LPLUG_OK);
}

/* ---- the C API ------------------------------------------------------------- */

static void config_configure_checks_its_arguments(void **state) {
  fixture *f = *state;
  lplug_value *v = json("[1, 2]");
  assert_int_equal(lplug_plugin_configure(f->e, "alert", v), LPLUG_EINVAL);
  assert_string_equal(lplug_errmsg(f->e), "lplug_plugin_configure: plugin "
                      "'alert': keys must be strings (the names under config:"
                      " in its plugin.yaml), got an integer key");
  lplug_value_free(v);
  v = json("\"x\"");
  assert_int_equal(lplug_plugin_configure(f->e, "alert", v), LPLUG_EINVAL);
  assert_int_equal(lplug_plugin_configure(f->e, "", v), LPLUG_EINVAL);
  assert_int_equal(lplug_plugin_configure(NULL, "alert", v), LPLUG_EINVAL);
  lplug_value_free(v);
}

static void config_configure_replaces_and_forgets(void **state) {
  fixture *f = *state;
  configure(f, "alert", "{\"threshold\": 5000}");
  configure(f, "alert", "{\"threshold\": 7}");       /* replaces */
  configure(f, "other", "{\"threshold\": 9999}");    /* someone else's */
  assert_int_equal(lplug_plugin_configure(f->e, "alert", NULL), LPLUG_OK);
  assert_int_equal(load(f, "alert", SCHEMA, "return config.threshold", 0),
                   LPLUG_OK);
  lplug_value *v = lplug_value_new();
  assert_int_equal(run(f, v), LPLUG_OK);
  assert_int_equal(lplug_value_integer(v, 0, NULL), 10);
  lplug_value_free(v);
}

static void config_is_fixed_while_loaded(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "alert", SCHEMA, "", 0), LPLUG_OK);
  lplug_value *v = json("{\"threshold\": 7}");
  assert_int_equal(lplug_plugin_configure(f->e, "alert", v), LPLUG_ESTATE);
  assert_string_equal(lplug_errmsg(f->e), "lplug_plugin_configure: plugin "
                      "'alert' is loaded, and its configuration is fixed "
                      "while it runs (configure it before loading it)");
  lplug_value_free(v);
}

/* ---- read-only, whatever the plugin tries ------------------------------- */

static void config_writes_raise_naming_the_key(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "alert", SCHEMA,
    "local function fails(fn, text)\n"
    "  local ok, err = pcall(fn)\n"
    "  assert(not ok, 'write passed: ' .. text)\n"
    "  assert(err:find(text, 1, true), err)\n"
    "end\n"
    "fails(function() config.threshold = 5 end,\n"
    "      'config.threshold is read-only (the host sets the configuration;"
    " to change a copy, take one with config())')\n"
    "fails(function() config.fresh = 1 end, 'config.fresh is read-only')\n"
    "fails(function() config.servers[1] = 'x' end,\n"
    "      'config.servers[1] is read-only')\n"
    "fails(function() config.servers[3] = 'x' end,\n"
    "      'config.servers[3] is read-only')\n"
    "fails(function() config.opts.deep.x = 2 end,\n"
    "      'config.opts.deep.x is read-only')\n"
    "fails(function() config['a b'] = 2 end, 'config[\"a b\"] is read-only')\n"
    "fails(function() table.insert(config.servers, 'x') end, 'read-only')\n"
    "assert(config.threshold == 10 and config.fresh == nil)\n"
    "assert(config.servers[1] == 'a.example' and #config.servers == 2)\n"
    "assert(config.opts.deep.x == 1)\n", 0), LPLUG_OK);
  assert_int_equal(run(f, NULL), LPLUG_OK);
}

static void config_raw_access_and_metatables_are_refused(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "alert", SCHEMA,
    "local function fails(fn, text)\n"
    "  local ok, err = pcall(fn)\n"
    "  assert(not ok and err:find(text, 1, true), err)\n"
    "end\n"
    "fails(function() rawset(config, 'threshold', 1) end,\n"
    "      \"bad argument #1 to 'rawset' (table expected, got lplug.config)\")\n"
    "local nt = 'table expected, got lplug.config'\n"
    "fails(function() rawset(config.opts, 'retries', 1) end, nt)\n"
    "fails(function() rawget(config, 'threshold') end, nt)\n"
    "fails(function() next(config) end, nt)\n"
    "fails(function() setmetatable(config, {}) end, nt)\n"
    "assert(getmetatable(config) == 'lplug.config is read-only')\n"
    "assert(getmetatable(config.opts.deep) == 'lplug.config is read-only')\n"
    "-- what pairs hands out is the proxy, never the hidden table\n"
    "local iter, s, k = pairs(config)\n"
    "assert(s == config and k == nil)\n"
    "for key, val in pairs(config.opts) do\n"
    "  if key == 'deep' then\n"
    "    fails(function() val.x = 5 end, 'config.opts.deep.x is read-only')\n"
    "  end\n"
    "end\n"
    "fails(function() iter(config, 'no-such-key') end, 'next')\n"
    "assert(tostring(config.servers) ==\n"
    "       'config.servers (read-only configuration)')\n"
    "assert(config.threshold == 10 and config.opts.retries == 3)\n"
    "assert(config.opts.deep.x == 1)\n", 0), LPLUG_OK);
  assert_int_equal(run(f, NULL), LPLUG_OK);
}

static void config_copies_are_the_plugins_own(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "alert", SCHEMA,
    "local c = config()\n"
    "assert(type(c) == 'table' and type(c.opts.deep) == 'table')\n"
    "c.threshold = 99; c.opts.deep.x = 7\n"
    "assert(config.threshold == 10 and config.opts.deep.x == 1)\n"
    "local s = config.servers()\n"
    "s[1] = 'z'\n"
    "assert(#s == 2 and config.servers[1] == 'a.example')\n"
    "assert(config() ~= c)\n"
    "-- the module is one object per plugin: require gives it again\n"
    "assert(require 'lplug.config' == config)\n", 0), LPLUG_OK);
  assert_int_equal(run(f, NULL), LPLUG_OK);
}

/* A copy pays for each value it makes, not only for the bytes: copying
** a list of 900 small numbers makes 900 values from some 8 KB (by the
** bytes alone, some 1,000 instructions, and a loop of such copies kept
** the host 23 times longer than the instruction budget allowed).  Under
** a budget of 5,000 one copy is too many. */
static void config_copies_pay_for_each_value(void **state) {
  fixture *f = *state;
  char values[8192], *dir;
  lplug_value *nil = lplug_value_new();
  size_t used = (size_t)snprintf(values, sizeof values, "{\"big\": [1");
  int i;
  for (i = 1; i < 900; i++)
    used += (size_t)snprintf(values + used, sizeof values - used, ",1");
  snprintf(values + used, sizeof values - used, "]}");
  configure(f, "copier", values);
  dir = support_plugin(f->root, "copier", "name: copier\nversion: 1.0.0\n"
                       "capabilities: { hooks: [t], config: {} }\n"
                       "limits: { instructions: 5000 }\n"
                       "config:\n  big: { type: list }\n",
                       "local config = require 'lplug.config'\n"
                       "require('lplug.hooks').on('t', function()\n"
                       "  assert(#config.big == 900)\n"
                       "  return #config.big()\n"
                       "end)\n");
  lplug_hook_define(f->e, "t", LPLUG_HOOK_FAIL_CLOSED, NULL);
  assert_int_equal(lplug_load_plugin(f->e, dir), LPLUG_OK);
  free(dir);
  assert_int_equal(lplug_hook_run(f->e, "t", nil), LPLUG_ECPU);
  assert_non_null(strstr(f->log.last_message, "instruction budget of 5000"));
  lplug_value_free(nil);
}

static void config_is_not_shared_across_plugins(void **state) {
  fixture *f = *state;
  configure(f, "one", "{\"threshold\": 1}");
  assert_int_equal(load(f, "one", SCHEMA,
    "pcall(function() config.threshold = 500 end)\n"
    "pcall(rawset, config, 'threshold', 500)\n"
    "v[#v + 1] = config.threshold\n"
    "return v", 0), LPLUG_OK);
  assert_int_equal(load(f, "two", SCHEMA,
    "v[#v + 1] = config.threshold\n"
    "return v", 0), LPLUG_OK);
  lplug_value *v = json("[]");
  assert_int_equal(run(f, v), LPLUG_OK);
  char *text = lplug_value_to_json(v, NULL);
  assert_string_equal(text, "[1,10]");
  lplug_free(text);
  lplug_value_free(v);
}

/* ---- the gate ------------------------------------------------------------------ */

static void config_needs_its_capability(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "bare", SCHEMA,
    "local ok, err = pcall(require, 'lplug.config')\n"
    "assert(not ok and err:find(\"require 'lplug.config': plugin 'bare' \"\n"
    "  .. \"lacks capability 'config'\", 1, true), err)\n", 1), LPLUG_OK);
  assert_int_equal(run(f, NULL), LPLUG_OK);
}

static int refuse_config(void *ud, const char *plugin, const char *cap,
                         const char *item) {
  (void)ud; (void)plugin; (void)item;
  return strcmp(cap, "config") != 0;
}

static void config_needs_the_hosts_grant(void **state) {
  fixture *f = *state;
  lplug_config c = {0};
  c.grant = refuse_config;
  lplug_engine_free(f->e);
  f->e = lplug_engine_new(&c);
  assert_non_null(f->e);
  assert_int_equal(load(f, "alert", SCHEMA, "", 0), LPLUG_ERUNTIME);
  assert_non_null(strstr(lplug_errmsg(f->e), "require 'lplug.config': the "
                         "host does not grant capability 'config' to plugin "
                         "'alert'"));
}

/* ---- the schema, checked when the manifest loads --------------------------- */

static void config_schema_errors_name_file_line_column(void **state) {
  (void)state;
  schema_fails("  t: { type: integer, maximum: 5 }\n",
               "plugin.yaml:4:23: config.t: unknown schema key 'maximum' "
               "(allowed: type, default, required, min, max, enum, "
               "description)");
  schema_fails("  t: { type: int }\n",
               "plugin.yaml:4:14: config.t.type: 'int' is not a type (one of: "
               "string, integer, number, boolean, list, map)");
  schema_fails("  t: { default: 3 }\n",
               "plugin.yaml:4:3: config.t: type: is missing (one of: string, "
               "integer, number, boolean, list, map)");
  schema_fails("  t: 10\n",
               "plugin.yaml:4:6: config.t: expected a schema mapping (e.g. "
               "{ type: integer, default: 10 }), got a scalar");
  schema_fails("  'bad key': { type: string }\n",
               "plugin.yaml:4:3: config: 'bad key' is not a key name (a "
               "letter or '_', then letters, digits, '_' or '-'; at most 64 "
               "bytes)");
  schema_fails("  t: { type: string }\n  t: { type: string }\n",
               "plugin.yaml:5:3: config.t: duplicate key (first at line 4)");
  schema_fails("  t: { type: string, type: integer }\n",
               "plugin.yaml:4:22: config.t.type: duplicate key (first at line "
               "4)");
  schema_fails("  c: [1]\n",
               "plugin.yaml:4:6: config.c: expected a schema mapping (e.g. "
               "{ type: integer, default: 10 }), got a sequence");
}

static void config_schema_defaults_are_checked(void **state) {
  (void)state;
  schema_fails("  t: { type: integer, default: ten }\n",
               "plugin.yaml:4:32: config.t.default: expected an integer, got "
               "the string 'ten'");
  schema_fails("  t: { type: integer, default: 50, max: 10 }\n",
               "plugin.yaml:4:32: config.t.default: 50 is over the maximum 10");
  schema_fails("  t: { type: number, default: 0.5, min: 1 }\n",
               "plugin.yaml:4:31: config.t.default: 0.5 is under the minimum "
               "1");
  schema_fails("  m: { type: string, default: slow, enum: [fast, exact] }\n",
               "plugin.yaml:4:31: config.m.default: 'slow' is not one of: "
               "'fast', 'exact'");
  schema_fails("  m: { type: string, default: 10 }\n",
               "plugin.yaml:4:31: config.m.default: expected a string, got "
               "the integer 10 (quote it to make it a string)");
  schema_fails("  l: { type: list, default: { a: 1 } }\n",
               "plugin.yaml:4:29: config.l.default: expected a list, got a "
               "map");
}

static void config_schema_rules_are_checked(void **state) {
  (void)state;
  schema_fails("  s: { type: string, min: 1 }\n",
               "plugin.yaml:4:22: config.s.min: applies only to integer and "
               "number keys (this one is a string)");
  schema_fails("  t: { type: integer, min: 1.5 }\n",
               "plugin.yaml:4:28: config.t.min: expected an integer, got "
               "'1.5'");
  schema_fails("  t: { type: number, max: lots }\n",
               "plugin.yaml:4:27: config.t.max: expected a finite number, got "
               "'lots'");
  schema_fails("  t: { type: integer, min: 10, max: 5 }\n",
               "plugin.yaml:4:37: config.t: max 5 is under min 10 (swap "
               "them?)");
  schema_fails("  b: { type: boolean, enum: [true] }\n",
               "plugin.yaml:4:23: config.b.enum: applies only to string, "
               "integer and number keys (this one is a boolean)");
  schema_fails("  m: { type: string, enum: fast }\n",
               "plugin.yaml:4:28: config.m.enum: expected a non-empty list of "
               "the allowed values, got a scalar");
  schema_fails("  m: { type: string, enum: [fast, 3] }\n",
               "plugin.yaml:4:35: config.m.enum: expected a string, got the "
               "integer 3 (quote it to make it a string)");
  schema_fails("  k: { type: string, required: yes }\n",
               "plugin.yaml:4:32: config.k.required: expected true or false");
  schema_fails("  k: { type: string, required: true, default: x }\n",
               "plugin.yaml:4:38: config.k: a required key takes no default "
               "(the host must set it); remove required: or default:");
  schema_fails("  k: { type: string, description: [a] }\n",
               "plugin.yaml:4:35: config.k.description: expected a string");
}

/* ---- the host settings file --------------------------------------------------- */

static lplug_host *host_load(fixture *f, const char *yaml, int want,
                             char *err, size_t errsize) {
  char path[4200];
  lplug_host *h = NULL;
  support_write(f->root, "lplug.yaml", yaml);
  snprintf(path, sizeof path, "%s/lplug.yaml", f->root);
  int rc = lplug_host_load(path, &h, err, errsize);
  if (rc != want) print_error("%s\n", err);
  assert_int_equal(rc, want);
  return h;
}

static void config_settings_file_configures_plugins(void **state) {
  fixture *f = *state;
  char err[512];
  lplug_host *h = host_load(f,
    "config:\n"
    "  alert: { threshold: 50, mode: exact, servers: [x] }\n"
    "  other: { anything: 1 }\n", LPLUG_OK, err, sizeof err);
  assert_int_equal(lplug_host_apply_config(h, f->e), LPLUG_OK);
  assert_int_equal(load(f, "alert", SCHEMA,
    "assert(config.threshold == 50 and config.mode == 'exact')\n"
    "assert(config.servers[1] == 'x' and config.servers[2] == nil)", 0),
    LPLUG_OK);
  assert_int_equal(run(f, NULL), LPLUG_OK);
  /* applying again once the plugin runs: its configuration is fixed */
  assert_int_equal(lplug_host_apply_config(h, f->e), LPLUG_ESTATE);
  lplug_host_free(h);
}

static void config_settings_file_errors_say_where(void **state) {
  fixture *f = *state;
  char err[512], want[4400];
  lplug_host *h = host_load(f,
    "config:\n"
    "  alert:\n"
    "    threshold: 5000\n", LPLUG_OK, err, sizeof err);
  assert_int_equal(lplug_host_apply_config(h, f->e), LPLUG_OK);
  assert_int_equal(load(f, "alert", SCHEMA, "", 0), LPLUG_EMANIFEST);
  snprintf(want, sizeof want, "plugin 'alert': config.threshold: 5000 is "
           "over the maximum 1000 (set by the host at %s/lplug.yaml:3:16)",
           f->root);
  assert_string_equal(lplug_errmsg(f->e), want);
  lplug_host_free(h);
}

static void config_settings_file_section_is_checked(void **state) {
  fixture *f = *state;
  char err[512];
  host_load(f, "config: [x]\n", LPLUG_EMANIFEST, err, sizeof err);
  assert_non_null(strstr(err, "lplug.yaml:1:9: config: expected a mapping, "
                         "got a sequence"));
  host_load(f, "config:\n  alert: 5\n", LPLUG_EMANIFEST, err, sizeof err);
  assert_non_null(strstr(err, "lplug.yaml:2:10: config.alert: expected a "
                         "mapping of key: value (e.g. { threshold: 50 }), "
                         "got a scalar"));
  host_load(f, "config:\n  alert: { a: 1, a: 2 }\n", LPLUG_EMANIFEST, err,
            sizeof err);
  assert_non_null(strstr(err, "lplug.yaml:2:18: config.alert.a: duplicate "
                         "key (first at line 2)"));
  host_load(f, "config:\n  alert: {}\n  alert: {}\n", LPLUG_EMANIFEST, err,
            sizeof err);
  assert_non_null(strstr(err, "lplug.yaml:3:3: config.alert: duplicate "
                         "plugin (first at line 2)"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, \
                                                fixture_teardown)
    T(config_defaults_are_read),
    T(config_host_overrides_replace_defaults),
    T(config_integral_float_passes_as_integer),
    T(config_bad_overrides_are_load_errors),
    T(config_undeclared_override_is_a_load_error),
    T(config_required_key_must_be_set),
    T(config_without_schema_is_empty),
    T(config_configure_checks_its_arguments),
    T(config_configure_replaces_and_forgets),
    T(config_is_fixed_while_loaded),
    T(config_writes_raise_naming_the_key),
    T(config_raw_access_and_metatables_are_refused),
    T(config_copies_are_the_plugins_own),
    T(config_copies_pay_for_each_value),
    T(config_is_not_shared_across_plugins),
    T(config_needs_its_capability),
    T(config_needs_the_hosts_grant),
    T(config_schema_errors_name_file_line_column),
    T(config_schema_defaults_are_checked),
    T(config_schema_rules_are_checked),
    T(config_settings_file_configures_plugins),
    T(config_settings_file_errors_say_where),
    T(config_settings_file_section_is_checked),
#undef T
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
