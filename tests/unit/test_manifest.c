/*
** test_manifest.c -- plugin.yaml: good manifests, every rule with its
** exact message, and hostile YAML that must be refused cleanly.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/manifest.h"
#include "support.h"

static char warned[512];
static char all_warned[4096];   /* every warning of the last parse, a line each */
static int warnings;

static void on_warn(void *ud, const char *message) {
  size_t n = strlen(all_warned);
  (void)ud;
  if (warnings++ == 0) n = all_warned[0] = 0;
  snprintf(warned, sizeof warned, "%s", message);
  snprintf(all_warned + n, sizeof all_warned - n, "%s\n", message);
}

static manifest *parse_ok(const char *yaml) {
  manifest *m = NULL;
  char err[512] = "";
  warnings = 0;
  int rc = manifest_parse(yaml, strlen(yaml), "plugin.yaml", &m, err,
                          sizeof err, on_warn, NULL);
  if (rc != LPLUG_OK) print_error("%s\n", err);
  assert_int_equal(rc, LPLUG_OK);
  return m;
}

/* Asserts that yaml is refused with exactly `message`. */
static void parse_fails(const char *yaml, size_t len, const char *message) {
  manifest *m = NULL;
  char err[512] = "";
  int rc = manifest_parse(yaml, len, "plugin.yaml", &m, err, sizeof err,
                          on_warn, NULL);
  assert_int_equal(rc, LPLUG_EMANIFEST);
  assert_null(m);
  if (strcmp(err, message) != 0) print_error("got: %s\n", err);
  assert_string_equal(err, message);
}

#define FAILS(yaml, message) parse_fails(yaml, strlen(yaml), message)

static void manifest_minimal_is_valid(void **state) {
  (void)state;
  manifest *m = parse_ok("name: tiny\nversion: 0.1.0\n");
  assert_string_equal(m->name, "tiny");
  assert_string_equal(m->version, "0.1.0");
  assert_string_equal(m->main, "init.lua");
  assert_null(m->description);
  assert_int_equal(m->ndepends, 0);
  assert_int_equal(m->memory_limit, 0);
  assert_int_equal(m->instruction_limit, 0);
  assert_int_equal(lplug_value_type(m->capabilities, 0), LPLUG_TNIL);
  assert_int_equal(warnings, 0);
  manifest_free(m);
}

static void manifest_every_field_is_read(void **state) {
  (void)state;
  manifest *m = parse_ok(
    "# a full manifest\n"
    "name: geo_ip-2\n"
    "version: 1.2.3-beta.1+build.7\n"
    "description: Adds a country to each record\n"
    "author: 'Jane Doe <jane@example.com>'\n"
    "license: MIT\n"
    "main: src/main.lua\n"
    "lplug: '>= 0.1'\n"
    "depends: ['utils ^1.4', '? metrics']\n"
    "capabilities:\n"
    "  hooks: [record, request]\n"
    "  storage: { quota: 1MB }\n"
    "  log: {}\n"
    "limits:\n"
    "  memory: 256KB\n"
    "  instructions: 5M\n"
    "config:\n"
    "  threshold: { type: integer, default: 10, min: 1 }\n"
    "  label: { type: string, required: true }\n");
  size_t caps, hooks, at;
  assert_string_equal(m->name, "geo_ip-2");
  assert_string_equal(m->version, "1.2.3-beta.1+build.7");
  assert_string_equal(m->description, "Adds a country to each record");
  assert_string_equal(m->author, "Jane Doe <jane@example.com>");
  assert_string_equal(m->license, "MIT");
  assert_string_equal(m->main, "src/main.lua");
  assert_string_equal(m->lplug, ">= 0.1");
  assert_int_equal(m->ndepends, 2);
  assert_string_equal(m->depends[1], "? metrics");
  assert_int_equal(m->memory_limit, 256 * 1024);
  assert_int_equal(m->instruction_limit, 5000000);
  assert_string_equal(m->memory_where, "plugin.yaml:15:11");
  assert_string_equal(m->instructions_where, "plugin.yaml:16:17");
  caps = 0;
  assert_true(lplug_value_field(m->capabilities, caps, "hooks", &hooks));
  assert_int_equal(lplug_value_count(m->capabilities, hooks), 2);
  assert_true(lplug_value_index(m->capabilities, hooks, 2, &at));
  assert_string_equal(lplug_value_string(m->capabilities, at, NULL), "request");
  assert_true(lplug_value_field(m->capabilities, 0, "storage", &at));
  assert_true(lplug_value_field(m->capabilities, at, "quota", &at));
  assert_string_equal(lplug_value_string(m->capabilities, at, NULL), "1MB");
  assert_true(lplug_value_field(m->config, 0, "threshold", &at));
  assert_true(lplug_value_field(m->config, at, "default", &at));
  assert_int_equal(lplug_value_type(m->config, at), LPLUG_TINTEGER);
  assert_true(lplug_value_field(m->config, 0, "label", &at));
  assert_true(lplug_value_field(m->config, at, "required", &at));
  assert_int_equal(lplug_value_type(m->config, at), LPLUG_TBOOLEAN);
  assert_false(lplug_value_field(m->config, 0, "nothing", &at));
  assert_int_equal(warnings, 0);
  manifest_free(m);
}

static void manifest_quoted_scalars_stay_strings(void **state) {
  (void)state;
  manifest *m = parse_ok("name: q\nversion: 1.0.0\nconfig:\n"
                         "  a: { type: string, default: '10' }\n"
                         "  b: { type: string, default: \"true\" }\n");
  size_t at;
  assert_true(lplug_value_field(m->config, 0, "a", &at));
  assert_true(lplug_value_field(m->config, at, "default", &at));
  assert_int_equal(lplug_value_type(m->config, at), LPLUG_TSTRING);
  assert_true(lplug_value_field(m->config, 0, "b", &at));
  assert_true(lplug_value_field(m->config, at, "default", &at));
  assert_int_equal(lplug_value_type(m->config, at), LPLUG_TSTRING);
  manifest_free(m);
}

static void manifest_required_fields_are_named(void **state) {
  (void)state;
  FAILS("version: 1.0.0\n", "plugin.yaml:1:1: name: required field is missing");
  FAILS("name: a\n", "plugin.yaml:1:1: version: required field is missing");
}

static void manifest_name_pattern_is_enforced(void **state) {
  (void)state;
  FAILS("name: Bad Name\nversion: 1.0.0\n",
        "plugin.yaml:1:7: name: 'Bad Name' must match [a-z][a-z0-9_-]* "
        "(lowercase letters, digits, '_' and '-'; at most 64)");
  FAILS("name: 9lives\nversion: 1.0.0\n",
        "plugin.yaml:1:7: name: '9lives' must match [a-z][a-z0-9_-]* "
        "(lowercase letters, digits, '_' and '-'; at most 64)");
  FAILS("name: [a]\nversion: 1.0.0\n",
        "plugin.yaml:1:7: name: expected a string, got a sequence");
}

static void manifest_version_must_be_semantic(void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.x\n",
        "plugin.yaml:2:10: version: '1.x' is not a semantic version "
        "(expected MAJOR.MINOR.PATCH, e.g. 1.2.0)");
  assert_true(manifest_is_semver("0.0.0"));
  assert_true(manifest_is_semver("10.20.30-rc.1+sha.5114f85"));
  assert_false(manifest_is_semver("01.2.3"));
  assert_false(manifest_is_semver("1.2"));
  assert_false(manifest_is_semver("1.2.3-"));
  assert_false(manifest_is_semver("1.2.3-01"));
  assert_false(manifest_is_semver("1.2.3 "));
}

static void manifest_main_stays_inside_the_folder(void **state) {
  (void)state;
  const char *msg = "plugin.yaml:3:7: main: '../x.lua' must be a .lua file "
                    "inside the plugin folder (a relative path without '..')";
  FAILS("name: a\nversion: 1.0.0\nmain: ../x.lua\n", msg);
  FAILS("name: a\nversion: 1.0.0\nmain: /etc/x.lua\n",
        "plugin.yaml:3:7: main: '/etc/x.lua' must be a .lua file inside the "
        "plugin folder (a relative path without '..')");
  FAILS("name: a\nversion: 1.0.0\nmain: init.so\n",
        "plugin.yaml:3:7: main: 'init.so' must be a .lua file inside the "
        "plugin folder (a relative path without '..')");
}

static void manifest_limits_accept_units(void **state) {
  (void)state;
  size_t n;
  long long c;
  assert_true(lplug_parse_size("512", &n) && n == 512);
  assert_true(lplug_parse_size("256KB", &n) && n == 256 * 1024);
  assert_true(lplug_parse_size("4MB", &n) && n == 4 * 1024 * 1024);
  assert_true(lplug_parse_size("1GiB", &n) && n == 1024u * 1024 * 1024);
  assert_false(lplug_parse_size("4 parsecs", &n));
  assert_false(lplug_parse_size("-1KB", &n));
  assert_false(lplug_parse_size("99999999999999999999", &n));
  assert_false(lplug_parse_size("", &n));
  assert_true(lplug_parse_count("100000", &c) && c == 100000);
  assert_true(lplug_parse_count("5K", &c) && c == 5000);
  assert_true(lplug_parse_count("10M", &c) && c == 10000000);
  assert_false(lplug_parse_count("0", &c));
  assert_false(lplug_parse_count("1.5M", &c));
  assert_false(lplug_parse_count("9223372036854775807G", &c));
}

static void manifest_bad_limits_are_errors(void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.0.0\nlimits: [1]\n",
        "plugin.yaml:3:9: limits: expected a mapping, got a sequence");
  FAILS("name: a\nversion: 1.0.0\nlimits:\n  memory: lots\n",
        "plugin.yaml:4:11: limits.memory: 'lots' is not a size (e.g. 256KB, "
        "4MB)");
  FAILS("name: a\nversion: 1.0.0\nlimits:\n  memory: 0\n",
        "plugin.yaml:4:11: limits.memory: '0' is not a size (e.g. 256KB, 4MB)");
  FAILS("name: a\nversion: 1.0.0\nlimits:\n  instructions: -5\n",
        "plugin.yaml:4:17: limits.instructions: '-5' is not a count (e.g. "
        "100000, 5M)");
}

static void manifest_depends_are_parsed(void **state) {
  (void)state;
  manifest *m = parse_ok(
    "name: a\nversion: 1.0.0\nlplug: '>= 0.1'\n"
    "depends: ['geoip >= 1.2 < 2', '? metrics', '!old-redact', 'utils ^1.4',"
    " '  ?  spaced   ~2  ']\n");
  assert_int_equal(m->ndepends, 5);
  assert_int_equal(m->deps[0].kind, MANIFEST_REQUIRES);
  assert_string_equal(m->deps[0].name, "geoip");
  assert_string_equal(m->deps[0].range_text, ">= 1.2 < 2");
  assert_int_equal(m->deps[0].range.n, 2);
  assert_string_equal(m->deps[0].where, "plugin.yaml:4:11");
  assert_int_equal(m->deps[1].kind, MANIFEST_OPTIONAL);
  assert_string_equal(m->deps[1].name, "metrics");
  assert_int_equal(m->deps[1].range.n, 0);
  assert_int_equal(m->deps[2].kind, MANIFEST_CONFLICTS);
  assert_string_equal(m->deps[2].name, "old-redact");
  assert_string_equal(m->deps[3].range_text, "^1.4");
  assert_int_equal(m->deps[4].kind, MANIFEST_OPTIONAL);
  assert_string_equal(m->deps[4].name, "spaced");
  assert_string_equal(m->deps[4].range_text, "~2  ");
  assert_int_equal(m->lplug_range.n, 1);
  assert_string_equal(m->lplug_where, "plugin.yaml:3:8");
  manifest_free(m);
}

static void manifest_bad_depends_are_errors(void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.0.0\ndepends: ['utils ^1.x.y']\n",
        "plugin.yaml:3:11: depends: 'utils ^1.x.y': '1.x.y' is not a version "
        "(expected MAJOR[.MINOR[.PATCH]], e.g. 1.2 or 1.2.0)");
  FAILS("name: a\nversion: 1.0.0\ndepends: ['Utils']\n",
        "plugin.yaml:3:11: depends: 'Utils': 'Utils' is not a plugin name "
        "([a-z][a-z0-9_-]*, at most 64 bytes)");
  FAILS("name: a\nversion: 1.0.0\ndepends: ['?']\n",
        "plugin.yaml:3:11: depends: '?' names no plugin (expected \"name "
        "[range]\", \"? name\" or \"! name\", e.g. \"utils ^1.4\")");
  FAILS("name: a\nversion: 1.0.0\ndepends: ['lplug >= 0.1']\n",
        "plugin.yaml:3:11: depends: 'lplug >= 0.1': the engine is not a "
        "plugin (give the engine's versions in the lplug: field, e.g. lplug: "
        "\">= 0.1\")");
  FAILS("name: a\nversion: 1.0.0\ndepends:\n  - b ^1\n  - '? b'\n",
        "plugin.yaml:5:5: depends: 'b' is listed twice (first at "
        "plugin.yaml:4:5; merge the two entries)");
  FAILS("name: a\nversion: 1.0.0\ndepends: ['b => 1']\n",
        "plugin.yaml:3:11: depends: 'b => 1': '=>' is not an operator (use "
        ">=, >, <=, <, =, ^ or ~)");
  FAILS("name: a\nversion: 1.0.0\nlplug: '0.x.1'\n",
        "plugin.yaml:3:8: lplug: '0.x.1': '0.x.1' is not a version (expected "
        "MAJOR[.MINOR[.PATCH]], e.g. 1.2 or 1.2.0)");
  FAILS("name: a\nversion: 1.0.0\nlplug: [1]\n",
        "plugin.yaml:3:8: lplug: expected a string, got a sequence");
}

static void manifest_wrong_types_are_errors(void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.0.0\ncapabilities: [hooks]\n",
        "plugin.yaml:3:15: capabilities: expected a mapping, got a sequence");
  FAILS("name: a\nversion: 1.0.0\ndepends: utils\n",
        "plugin.yaml:3:10: depends: expected a sequence of strings, got a "
        "scalar");
  FAILS("name: a\nversion: 1.0.0\ndepends: [{a: 1}]\n",
        "plugin.yaml:3:11: depends: expected a string, got a mapping");
  FAILS("- name\n- version\n",
        "plugin.yaml:1:1: expected a mapping of fields (name: ..., version: "
        "...), got a sequence");
  FAILS("just text\n", "plugin.yaml:1:1: expected a mapping of fields (name: "
        "..., version: ...), got a scalar");
}

static void manifest_empty_file_is_an_error(void **state) {
  (void)state;
  FAILS("", "plugin.yaml:1:1: the file is empty (a plugin.yaml needs at least "
        "name: and version:)");
  FAILS("# only a comment\n", "plugin.yaml:1:1: the file is empty (a "
        "plugin.yaml needs at least name: and version:)");
}

static void manifest_duplicate_keys_are_errors(void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.0.0\nname: b\n",
        "plugin.yaml:3:1: name: duplicate key (first at line 1)");
  /* deeper too: the second would silently win */
  FAILS("name: a\nversion: 1.0.0\ncapabilities:\n  hooks: [x]\n"
        "  hooks: [y]\n",
        "plugin.yaml:5:3: capabilities.hooks: duplicate key (first at line "
        "4)");
  FAILS("name: a\nversion: 1.0.0\ncapabilities:\n"
        "  storage: { quota: 1KB, quota: 1MB }\n",
        "plugin.yaml:4:26: capabilities.storage.quota: duplicate key (first "
        "at line 4)");
}

/* Found by fuzz_manifest: a second limits.memory leaked the first one's
** "file:line:col". */
static void manifest_duplicate_limits_are_errors(void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.0.0\nlimits:\n  memory: 512KB\n"
        "  instructions: 1M\n  memory: 600\n",
        "plugin.yaml:6:3: limits.memory: duplicate key (first at line 4)");
  FAILS("name: a\nversion: 1.0.0\nlimits: { time: 1s, time: 2s }\n",
        "plugin.yaml:3:21: limits.time: duplicate key (first at line 3)");
}

static void manifest_unknown_key_warns_with_position(void **state) {
  (void)state;
  manifest *m = parse_ok("name: a\nversion: 1.0.0\ncolour: red\nlimits:\n"
                         "  disk: 1MB\n");
  assert_int_equal(warnings, 2);
  assert_string_equal(warned, "plugin.yaml:5:3: unknown key 'limits.disk' "
                      "(ignored)");
  manifest_free(m);
}

/* "Unknown keys are warnings" holds inside capabilities: a misspelt
** capability declares nothing, and says so where it is written. */
/* A warning is one line whatever bytes the key it quotes holds: a quoted
** key with a newline could otherwise pass for a second warning. */
static void manifest_warnings_are_one_line(void **state) {
  (void)state;
  manifest *m = parse_ok(
    "name: a\nversion: 1.0.0\nlimits: { \"x\\nlplug: y\": 1 }\n"
    "capabilities:\n  \"storag\\nz\": {}\n\"top\\r\": 1\n");
  assert_int_equal(warnings, 3);
  assert_string_equal(all_warned,
    "plugin.yaml:3:11: unknown key 'limits.x\\nlplug: y' (ignored)\n"
    "plugin.yaml:5:3: unknown key 'capabilities.storag\\nz' (ignored; the "
    "capabilities are hooks, events, storage, log, time, json, config)\n"
    "plugin.yaml:6:1: unknown key 'top\\r' (ignored)\n");
  manifest_free(m);
}

static void manifest_unknown_capabilities_and_keys_warn_with_position(
    void **state) {
  (void)state;
  manifest *m = parse_ok(
    "name: a\nversion: 1.0.0\ncapabilities:\n"
    "  storag: {}\n"
    "  hook: [record]\n"
    "  events: { emit: [x], foo: [z] }\n"
    "  log: { level: x }\n"
    "  time: true\n"                       /* true declares it whole */
    "  json:\n"
    "  storage: { quota: 1MB, path: x }\n");
  assert_string_equal(all_warned,
    "plugin.yaml:4:3: unknown key 'capabilities.storag' (ignored; the "
    "capabilities are hooks, events, storage, log, time, json, config)\n"
    "plugin.yaml:5:3: unknown key 'capabilities.hook' (ignored; the "
    "capabilities are hooks, events, storage, log, time, json, config)\n"
    "plugin.yaml:6:24: unknown key 'capabilities.events.foo' (ignored; "
    "events takes emit, on)\n"
    "plugin.yaml:7:10: unknown key 'capabilities.log.level' (ignored; log "
    "takes no settings: write {})\n"
    "plugin.yaml:9:8: capabilities.json: expected a mapping ({}), true or "
    "false; got nothing, which declares nothing (write {} to declare it)\n"
    "plugin.yaml:10:26: unknown key 'capabilities.storage.path' (ignored; "
    "storage takes quota)\n");
  assert_int_equal(warnings, 6);
  manifest_free(m);
  m = parse_ok("name: a\nversion: 1.0.0\ncapabilities:\n"
               "  hooks: [record, \"alert.*\", \"a..b\"]\n"
               "  events: { emit: \"counter.*\", on: [\"*\", \"x.*.y\"] }\n"
               "  storage: { quota: 1MB }\n  log: {}\n  config: false\n");
  assert_int_equal(warnings, 0);         /* every shape the guide shows */
  manifest_free(m);
}

/* A topic pattern that no topic can match is an error: the emit or
** subscription it was meant to allow would fail at run time instead. */
static void manifest_capability_items_that_match_nothing_are_errors(
    void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.0.0\ncapabilities:\n"
        "  events: { emit: [\"a..b\"] }\n",
        "plugin.yaml:4:20: capabilities.events.emit: 'a..b' is not a topic "
        "pattern (e.g. \"counter.*\"): dot-separated words of "
        "[A-Za-z0-9_:-], '*' for a whole word, so it matches nothing");
  FAILS("name: a\nversion: 1.0.0\ncapabilities:\n"
        "  events: { on: [ok, \"**\"] }\n",
        "plugin.yaml:4:22: capabilities.events.on: '**' is not a topic "
        "pattern (e.g. \"counter.*\"): dot-separated words of "
        "[A-Za-z0-9_:-], '*' for a whole word, so it matches nothing");
  FAILS("name: a\nversion: 1.0.0\ncapabilities:\n  hooks: [rec ord]\n",
        "plugin.yaml:4:11: capabilities.hooks: 'rec ord' is not a hook name "
        "or pattern (e.g. record): 1-64 characters of [A-Za-z0-9_.:-], '*' "
        "for a whole dot-separated word, so it matches nothing");
  FAILS("name: a\nversion: 1.0.0\ncapabilities:\n  hooks: [record, 7]\n",
        "plugin.yaml:4:19: capabilities.hooks: 7 is a number, which names "
        "nothing (quote it, \"7\", to name it)");
}

static void manifest_syntax_error_names_line_and_column(void **state) {
  (void)state;
  FAILS("name: a\nversion: [1.0.0\n",
        "plugin.yaml:3:1: invalid YAML: did not find expected ',' or ']' "
        "while parsing a flow sequence");
  FAILS("name: a\n\tversion: 1.0.0\n",
        "plugin.yaml:2:1: invalid YAML: found a tab character that violates "
        "indentation while scanning a plain scalar");
}

static void manifest_alias_bomb_is_refused(void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.0.0\nconfig:\n"
        "  a: &a [x, x, x, x, x, x, x, x, x]\n"
        "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "  c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
        "plugin.yaml:4:6: anchors are not supported ('&a')");
  FAILS("name: a\nversion: 1.0.0\nconfig: *x\n",
        "plugin.yaml:3:9: aliases are not supported ('*x')");
}

/* Found by fuzz_manifest: limits: and config: read their keys as text,
** which a mapping or sequence key does not have. */
static void manifest_key_that_is_not_a_scalar_is_an_error(void **state) {
  (void)state;
  FAILS("name: a\nversion: 1.0.0\nlimits: { {}: 1 }\n",
        "plugin.yaml:3:11: a key must be a scalar, not a mapping");
  FAILS("name: a\nversion: 1.0.0\ncapabilities: { [a]: 1 }\n",
        "plugin.yaml:3:17: a key must be a scalar, not a sequence");
  FAILS("? [name]\n: a\n",
        "plugin.yaml:1:3: a key must be a scalar, not a sequence");
}

static void manifest_tags_and_documents_are_refused(void **state) {
  (void)state;
  FAILS("name: !!binary aGk=\nversion: 1.0.0\n",
        "plugin.yaml:1:7: tags are not supported "
        "('tag:yaml.org,2002:binary')");
  FAILS("name: a\nversion: 1.0.0\n---\nname: b\n",
        "plugin.yaml:3:1: only one YAML document is allowed");
}

static void manifest_deep_nesting_is_refused(void **state) {
  (void)state;
  char yaml[512];
  int i, n = snprintf(yaml, sizeof yaml, "name: a\nversion: 1.0.0\nconfig: ");
  for (i = 0; i < 40; i++) yaml[n++] = '[';
  for (i = 0; i < 40; i++) yaml[n++] = ']';
  yaml[n] = '\0';
  FAILS(yaml, "plugin.yaml:3:40: nested deeper than 32 levels");
}

static void manifest_huge_scalar_is_refused(void **state) {
  (void)state;
  size_t size = 100 * 1024;
  char *yaml = malloc(size + 64);
  int n = snprintf(yaml, 64, "name: a\nversion: 1.0.0\ndescription: ");
  memset(yaml + n, 'x', 60000);
  yaml[n + 60000] = '\0';
  FAILS(yaml, "plugin.yaml:3:14: a value longer than 4096 bytes");
  memset(yaml, 'y', size);
  parse_fails(yaml, size, "plugin.yaml: larger than 65536 bytes");
  free(yaml);
}

static void manifest_too_many_nodes_are_refused(void **state) {
  (void)state;
  size_t cap = 40000, n;
  char *yaml = malloc(cap);
  int i;
  n = (size_t)snprintf(yaml, cap, "name: a\nversion: 1.0.0\nconfig: [");
  for (i = 0; i < 10000; i++) n += (size_t)snprintf(yaml + n, cap - n, "1,");
  snprintf(yaml + n, cap - n, "1]\n");
  FAILS(yaml, "plugin.yaml:3:1996: more than 1000 YAML nodes");
  free(yaml);
}

static void manifest_binary_garbage_is_refused(void **state) {
  (void)state;
  static const char garbage[] = "\xff\xfe\x00\x01name\x00: \x80\x81";
  manifest *m = NULL;
  char err[512];
  assert_int_equal(manifest_parse(garbage, sizeof garbage - 1, "plugin.yaml",
                                  &m, err, sizeof err, on_warn, NULL),
                   LPLUG_EMANIFEST);
  assert_null(m);
  assert_non_null(strstr(err, "plugin.yaml:"));
}

/* Thousands of mutations of a valid manifest: each parses or fails
** cleanly (ASan and valgrind watch the memory). */
static void manifest_random_mutations_never_crash(void **state) {
  (void)state;
  static const char base[] =
    "name: geo\nversion: 1.2.3\ndepends: ['a ^1']\ncapabilities:\n"
    "  hooks: [record]\n  storage: {quota: 1MB}\nlimits:\n  memory: 4MB\n"
    "config:\n  k: {type: list, default: [1, 2.5, true, ~, 'x']}\n";
  static const char alphabet[] = ":-[]{},'\"&*!#|>\n \t%@`?0aZ";
  unsigned seed = 12345;
  char buf[sizeof base + 8];
  int i, j, ok = 0;
  for (i = 0; i < 5000; i++) {
    manifest *m = NULL;
    char err[512];
    memcpy(buf, base, sizeof base);
    for (j = 0; j < 1 + i % 4; j++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (seed >> 8) % (sizeof base - 1);
      seed = seed * 1103515245u + 12345u;
      buf[at] = (seed >> 16) % 3 ? alphabet[(seed >> 8) % (sizeof alphabet - 1)]
                                 : (char)(seed >> 8);
    }
    int rc = manifest_parse(buf, sizeof base - 1, "p.yaml", &m, err,
                            sizeof err, NULL, NULL);
    assert_true(rc == LPLUG_OK || rc == LPLUG_EMANIFEST);
    if (rc == LPLUG_OK) {
      ok++;
      manifest_free(m);
    } else {
      assert_null(m);
      assert_true(strncmp(err, "p.yaml:", 7) == 0);
    }
  }
  assert_true(ok > 0);
}

static void manifest_load_reads_files(void **state) {
  (void)state;
  manifest *m = NULL;
  char err[512];
  assert_int_equal(manifest_load("plugins/redact/plugin.yaml", &m, err,
                                 sizeof err, NULL, NULL), LPLUG_OK);
  assert_string_equal(m->name, "redact");
  manifest_free(m);
  assert_int_equal(manifest_load("/nonexistent/plugin.yaml", &m, err,
                                 sizeof err, NULL, NULL), LPLUG_EIO);
  assert_string_equal(err, "/nonexistent/plugin.yaml: cannot read: No such "
                      "file or directory");
}

/* Writes a manifest of exactly `size` bytes (padded with a comment) into
** dir/plugin.yaml and loads it. */
static int load_sized(const char *dir, size_t size, manifest **m, char *err,
                      size_t errsize) {
  char path[4096], *text = malloc(size + 1);
  int n = snprintf(text, size + 1, "name: a\nversion: 1.0.0\n#");
  assert_non_null(text);
  memset(text + n, 'x', size - (size_t)n);
  text[size] = '\0';
  support_write(dir, "plugin.yaml", text);
  free(text);
  snprintf(path, sizeof path, "%s/plugin.yaml", dir);
  return manifest_load(path, m, err, errsize, NULL, NULL);
}

static void manifest_load_reads_files_of_every_size(void **state) {
  /* The buffer is sized from the file: the limit itself, one byte over
  ** it and an empty file read as when it was always MANIFEST_MAX_BYTES +
  ** 1.  A manifest that is not a regular file (a device, a folder) is
  ** refused before any read: the host config, which may be a pipe, reads
  ** those (test_hostconfig.c). */
  char *dir = support_tmpdir(), path[4096], err[512];
  manifest *m = NULL;
  (void)state;
  assert_int_equal(load_sized(dir, MANIFEST_MAX_BYTES, &m, err, sizeof err),
                   LPLUG_OK);
  assert_string_equal(m->name, "a");
  manifest_free(m);
  m = NULL;
  assert_int_equal(load_sized(dir, MANIFEST_MAX_BYTES + 1, &m, err,
                              sizeof err), LPLUG_EMANIFEST);
  assert_non_null(strstr(err, "/plugin.yaml: larger than 65536 bytes"));
  assert_null(m);
  support_write(dir, "plugin.yaml", "");
  snprintf(path, sizeof path, "%s/plugin.yaml", dir);
  assert_int_equal(manifest_load(path, &m, err, sizeof err, NULL, NULL),
                   LPLUG_EMANIFEST);
  assert_non_null(strstr(err, "/plugin.yaml:1:1: the file is empty"));
  assert_int_equal(manifest_load("/dev/null", &m, err, sizeof err, NULL,
                                 NULL), LPLUG_EIO);
  assert_string_equal(err, "/dev/null: cannot read: not a regular file");
  assert_int_equal(manifest_load(dir, &m, err, sizeof err, NULL, NULL),
                   LPLUG_EIO);
  assert_non_null(strstr(err, ": cannot read: not a regular file"));
  support_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(manifest_minimal_is_valid),
    cmocka_unit_test(manifest_every_field_is_read),
    cmocka_unit_test(manifest_quoted_scalars_stay_strings),
    cmocka_unit_test(manifest_required_fields_are_named),
    cmocka_unit_test(manifest_name_pattern_is_enforced),
    cmocka_unit_test(manifest_version_must_be_semantic),
    cmocka_unit_test(manifest_main_stays_inside_the_folder),
    cmocka_unit_test(manifest_limits_accept_units),
    cmocka_unit_test(manifest_bad_limits_are_errors),
    cmocka_unit_test(manifest_wrong_types_are_errors),
    cmocka_unit_test(manifest_depends_are_parsed),
    cmocka_unit_test(manifest_bad_depends_are_errors),
    cmocka_unit_test(manifest_empty_file_is_an_error),
    cmocka_unit_test(manifest_duplicate_keys_are_errors),
    cmocka_unit_test(manifest_unknown_key_warns_with_position),
    cmocka_unit_test(
        manifest_unknown_capabilities_and_keys_warn_with_position),
    cmocka_unit_test(manifest_warnings_are_one_line),
    cmocka_unit_test(manifest_capability_items_that_match_nothing_are_errors),
    cmocka_unit_test(manifest_syntax_error_names_line_and_column),
    cmocka_unit_test(manifest_alias_bomb_is_refused),
    cmocka_unit_test(manifest_tags_and_documents_are_refused),
    cmocka_unit_test(manifest_deep_nesting_is_refused),
    cmocka_unit_test(manifest_huge_scalar_is_refused),
    cmocka_unit_test(manifest_too_many_nodes_are_refused),
    cmocka_unit_test(manifest_binary_garbage_is_refused),
    cmocka_unit_test(manifest_random_mutations_never_crash),
    cmocka_unit_test(manifest_load_reads_files),
    cmocka_unit_test(manifest_load_reads_files_of_every_size),
    cmocka_unit_test(manifest_key_that_is_not_a_scalar_is_an_error),
    cmocka_unit_test(manifest_duplicate_limits_are_errors),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
