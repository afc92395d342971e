#!/bin/sh
# `lplug hooks` and dependencies end to end: the resolved handler order,
# plugins resolved across several --plugins folders, and failures named.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# plugin FOLDER NAME VERSION EXTRA-YAML LUA
plugin() {
  mkdir -p "$out/$1/$2"
  printf 'name: %s\nversion: %s\ncapabilities: { hooks: [record] }\n%s' \
    "$2" "$3" "$4" >"$out/$1/$2/plugin.yaml"
  printf '%s\n' "$5" >"$out/$1/$2/init.lua"
}
on() {  # on OPTIONS: a handler appending nothing, with those options
  printf 'require("lplug.hooks").on("record", function() end, %s)' "$1"
}

plugin one geoip 1.4.0 "" "$(on '{ priority = 1 }')"
plugin one enrich 1.0.0 "depends: ['geoip ^1.2']
" "$(on '{ priority = 5, after = {"geoip"} }')"
plugin two audit 2.0.0 "depends: ['? enrich']
" "$(on '{ priority = 9, before = {"geoip", "nobody"} }')"
plugin two stale 1.0.0 "depends: ['geoip >= 2']
" "$(on '{}')"

"$LPLUG" hooks --plugins "$out/one" --plugins "$out/two" >"$out/hooks" \
  2>"$out/hooks.err"
check "lplug hooks exits 0 even when a plugin fails" [ $? -eq 0 ]
cat >"$out/want" <<TXT
record (3 handlers)
  1. audit                priority 9  before: geoip, nobody
  2. geoip                priority 1
  3. enrich               priority 5  after: geoip
TXT
check "lplug hooks prints the resolved order with priorities and constraints" \
  cmp -s "$out/hooks" "$out/want"
check "a dependency across folders with the wrong version is named" \
  grep -q "lplug: plugin 'stale': needs 'geoip >= 2', but geoip 1.4.0 is loaded" \
  "$out/hooks.err"

plugin cyc a 1.0.0 "depends: [b]
" ""
plugin cyc b 1.0.0 "depends: [a]
" ""
echo x | "$LPLUG" run --plugins "$out/cyc" >/dev/null 2>"$out/cyc.err"
check "lplug run names a dependency cycle" \
  grep -q "plugin 'a': dependency cycle: a -> b -> a" "$out/cyc.err"

plugin loop x 1.0.0 "" "$(on '{ before = {"y"} }')"
plugin loop y 1.0.0 "" "$(on '{ before = {"x"} }')"
"$LPLUG" hooks --plugins "$out/loop" >"$out/loop.out" 2>"$out/loop.err"
check "contradicting constraints fail the plugin that closes the cycle" \
  grep -q "plugin 'y': error in loading: y/init.lua:1: hooks.on: hook 'record': the before/after constraints form a cycle: y -> x -> y" \
  "$out/loop.err"
check "and the other one stays" grep -q "1. x " "$out/loop.out"

"$LPLUG" hooks --help | grep -q "usage: lplug hooks"
check "hooks --help shows usage" [ $? -eq 0 ]
"$LPLUG" hooks --bogus >/dev/null 2>&1
check "hooks with an unknown option exits 2" [ $? -eq 2 ]
"$LPLUG" hooks --plugins /no/such/folder >/dev/null 2>&1
check "hooks with a missing folder exits 1" [ $? -eq 1 ]

done_testing
