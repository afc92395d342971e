#!/bin/sh
# `lplug run --watch`: a plugin whose file is edited while records flow is
# reloaded between two records; a broken edit keeps the running version.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
trap 'exec 3>&-; kill $pid 2>/dev/null; rm -rf "$out"' EXIT

# Waits (up to 10 s) until file $1 holds a line matching $2.
wait_for() {
  i=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 200 ] && return 1
    sleep 0.05
  done
}

# Waits (up to 10 s) until file $1 holds $3 lines matching $2.
wait_count() {
  i=0
  while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
    i=$((i + 1))
    [ $i -gt 200 ] && return 1
    sleep 0.05
  done
}

mkdir -p "$out/plugins/tag"
cat >"$out/plugins/tag/plugin.yaml" <<YAML
name: tag
version: 1.0.0
capabilities: { hooks: [record] }
YAML
echo "require('lplug.hooks').on('record', function(r) r.line = 'v1 ' .. r.line return r end)" \
  >"$out/plugins/tag/init.lua"

mkfifo "$out/in"
"$LPLUG" run --watch --plugins "$out/plugins" <"$out/in" >"$out/out" 2>"$out/err" &
pid=$!
exec 3>"$out/in"

echo one >&3
check "--watch prints each record before waiting for the next" \
  wait_for "$out/out" "^v1 one$"

echo "require('lplug.hooks').on('record', function(r) r.line = 'v2 ' .. r.line return r end)" \
  >"$out/plugins/tag/init.lua"
check "an edited plugin is reloaded" wait_for "$out/err" "reloaded plugin 'tag'"
echo two >&3
check "and the next record sees the new version" wait_for "$out/out" "^v2 two$"

echo "this is not lua" >"$out/plugins/tag/init.lua"
check "a broken edit is reported" \
  wait_for "$out/err" "reload of plugin 'tag' failed; it keeps running"
echo three >&3
check "and the running version keeps serving" wait_for "$out/out" "^v2 three$"

# The folder replaced whole, as a checkout or rsync --delete does: it is
# watched again once it is back.  (Each step waits for the reloads before
# it to settle, then for one more.)
settled() { sleep 0.6; grep -c "reloaded plugin 'tag'" "$out/err"; }
n=$(settled)
rm -rf "$out/plugins/tag"
sleep 0.3
mkdir -p "$out/plugins/tag/lib"
cat >"$out/plugins/tag/plugin.yaml" <<YAML
name: tag
version: 1.0.0
capabilities: { hooks: [record] }
YAML
echo "return 'v3 '" >"$out/plugins/tag/lib/prefix.lua"
echo "local p = require 'lib.prefix'
require('lplug.hooks').on('record', function(r) r.line = p .. r.line return r end)" \
  >"$out/plugins/tag/init.lua"
check "a plugin folder replaced whole is reloaded" \
  wait_count "$out/err" "reloaded plugin 'tag'" $((n + 1))
check "not tried while it was gone" \
  sh -c "! grep -q 'cannot open plugin folder' '$out/err'"
echo four >&3
check "and serves" wait_for "$out/out" "^v3 four$"
n=$(settled)
echo "return 'v4 '" >"$out/plugins/tag/lib/prefix.lua"
check "and its files are watched again" \
  wait_count "$out/err" "reloaded plugin 'tag'" $((n + 1))
mkdir -p "$out/plugins/tag/lib/deeper"
n=$(settled)
echo "return 'v5 '" >"$out/plugins/tag/lib/deeper/prefix.lua"
echo "local p = require 'lib.deeper.prefix'
require('lplug.hooks').on('record', function(r) r.line = p .. r.line return r end)" \
  >"$out/plugins/tag/init.lua"
n=$(settled)
echo "return 'v6 '" >"$out/plugins/tag/lib/deeper/prefix.lua"
check "a change in a folder made in a folder reloads it" \
  wait_count "$out/err" "reloaded plugin 'tag'" $((n + 1))
echo five >&3
check "with what changed there" wait_for "$out/out" "^v6 five$"

exec 3>&-
wait $pid
check "lplug run --watch ends at the end of its input, exit 0" [ $? -eq 0 ]
check "every record came out once" [ "$(wc -l <"$out/out")" -eq 5 ]

done_testing
