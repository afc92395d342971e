#!/bin/sh
# examples/embed: the request filter is built with the build's flags and
# run over its sample requests; its output is checked line by line.
. tests/integration/lib.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ex=examples/embed

# shellcheck disable=SC2086
$LPLUG_CC $LPLUG_CFLAGS -o "$out/request-filter" $ex/request-filter.c $LPLUG_LIBS
check "the request filter compiles warning-free" [ $? -eq 0 ]

"$out/request-filter" $ex/plugins 3 <$ex/requests.jsonl >"$out/stdout" 2>"$out/stderr"
check "the request filter exits 0" [ $? -eq 0 ]
check "its verdicts, events and counters are the expected ones" \
  diff $ex/expected.out "$out/stdout"
check "a line that is not JSON is reported with its number and skipped" \
  grep -q "^request-filter: line 7: invalid JSON" "$out/stderr"

printf '{"method": "GET", "path": "/admin", "ip": 7}\n' |
  "$out/request-filter" $ex/plugins >"$out/closed" 2>"$out/closed.err"
check "fail-closed: a request a plugin fails on is blocked" \
  [ "$(head -1 "$out/closed")" = "blocked GET /admin: a filter failed (ERUNTIME)" ]
check "and the failure names the plugin" \
  grep -q "plugin deny-paths failed (ERUNTIME)" "$out/closed.err"

"$out/request-filter" >/dev/null 2>&1
check "usage errors exit 2" [ $? -eq 2 ]
done_testing
