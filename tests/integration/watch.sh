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

exec 3>&-
wait $pid
check "lplug run --watch ends at the end of its input, exit 0" [ $? -eq 0 ]
check "every record came out once" [ "$(wc -l <"$out/out")" -eq 3 ]

done_testing
