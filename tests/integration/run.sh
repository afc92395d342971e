#!/bin/sh
# `lplug run` end to end: the example plugins over the sample data, stdin,
# fail-open and fail-closed, bad plugins, usage errors and exit codes.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
case $LPLUG in /*) lplug_abs=$LPLUG ;; *) lplug_abs=$(pwd)/$LPLUG ;; esac
trap 'rm -rf "$out"' EXIT

"$LPLUG" run --storage "$out/db" --plugins plugins data/sample.log \
  >"$out/sample" 2>"$out/err"
check "example plugins over the sample log exit 0" [ $? -eq 0 ]
check "example output is as expected" \
  cmp -s "$out/sample" tests/integration/expected-sample.out
check "the alert plugin hears the counter's event, and nothing else is said" \
  [ "$(cat "$out/err")" = "[alert] record 7 is ERROR number 1 (counted across runs)" ]
"$LPLUG" run --storage "$out/db" --plugins plugins data/sample.log \
  >/dev/null 2>"$out/err2"
check "the counter's storage persists across runs" \
  grep -q "ERROR number 2 (counted" "$out/err2"
"$LPLUG" run --plugins plugins data/sample.log >/dev/null 2>"$out/err3"
check "without --storage the counts start afresh" \
  grep -q "ERROR number 1 (counted" "$out/err3"
check "and lplug says storage is in memory" \
  grep -q "note: plugin storage is in memory and lost at exit" "$out/err3"
cat >"$out/store.yaml" <<YAML
plugins: [$PWD/plugins]
storage: { path: counts.db }
grants:
  counter: { hooks: [record], storage: {}, events: true }
  alert: { events: true, log: {}, config: {}, time: {} }
config:
  alert: { every: 2 }
YAML
"$LPLUG" run --config "$out/store.yaml" data/sample.log >/dev/null \
  2>"$out/store.err"
printf 'plugins: [%s/plugins]\nconfig:\n  alrt: { every: 2 }\n' "$PWD" \
  >"$out/typo.yaml"
"$LPLUG" run --config "$out/typo.yaml" </dev/null >/dev/null 2>"$out/typo.err"
check "a settings entry naming no loaded plugin is warned about, with its place" \
  grep -q "^lplug: warning: $out/typo.yaml:3:3: config: 'alrt' names no plugin loaded here" "$out/typo.err"
check "a settings file's storage path is relative to the file" \
  [ -s "$out/counts.db" ]
check "and plugins it grants nothing are refused" \
  grep -q "the host does not grant capability 'hooks' to plugin 'redact'" \
  "$out/store.err"
"$LPLUG" run --config "$out/store.yaml" data/sample.log >/dev/null \
  2>"$out/store.err"
check "the file's config reaches the plugin: alert speaks every 2nd ERROR" \
  [ "$(grep '^\[alert\]' "$out/store.err")" = \
    "[alert] record 7 is ERROR number 2 (counted across runs)" ]

printf 'a@b.cc one\nDEBUG x\n x DEBUG y\n' |
  "$LPLUG" run --plugins plugins >"$out/stdin"
check "reads standard input" \
  [ "$(cat "$out/stdin")" = "$(printf '    1  <email> one\n    2  DEBUG x')" ]

printf 'r1\nr2\nr3\n' |
  "$LPLUG" run --plugins tests/integration/plugins-failing >"$out/open" 2>"$out/open.err"
check "fail-open keeps every record and skips the failing handler" \
  [ "$(cat "$out/open")" = "$(printf 'tagged: r1\ntagged: r2\ntagged: r3')" ]
check "plugin errors go to stderr with the plugin name" \
  grep -q "lplug: plugin 'crash': error in hook 'record': crash/init.lua:4: cannot handle record 2" "$out/open.err"

printf 'r1\nr2\nr3\n' |
  "$LPLUG" run --fail-closed --plugins tests/integration/plugins-failing >"$out/closed" 2>/dev/null
check "fail-closed drops the records whose handler failed" \
  [ "$(cat "$out/closed")" = "$(printf 'tagged: r1\ntagged: r3')" ]
mkdir -p "$out/broken"
cp -r plugins/redact "$out/broken/"
echo 'this is not Lua' >>"$out/broken/redact/init.lua"
echo "mail bob@example.com" |
  "$LPLUG" run --fail-closed --plugins "$out/broken" >"$out/unloaded" 2>"$out/unloaded.err"
check "fail-closed: a plugin that fails to load stops the run (exit 1)" [ $? -eq 1 ]
check "and passes no record unredacted" [ ! -s "$out/unloaded" ]
check "and says why" grep -q "a plugin failed to load and the hook is fail-closed" "$out/unloaded.err"

# What handlers return: numbers print as Lua writes them; a result with
# no line to print is said once and counted.
mkdir -p "$out/ret/ret"
printf 'name: ret\nversion: 1.0.0\ncapabilities: { hooks: [record] }\n' \
  >"$out/ret/ret/plugin.yaml"
cat >"$out/ret/ret/init.lua" <<'LUA'
local results = { 42, 2.0, 0.5, true, { x = 1 }, false }
require("lplug.hooks").on("record", function(r)
  local v = results[r.n]
  if v == nil then return r end
  return v
end)
LUA
printf '1\n2\n3\n4\n5\n6\n7\n' | "$LPLUG" run --plugins "$out/ret" >"$out/ret.out" 2>"$out/ret.err"
check "numbers are printed as Lua writes them" \
  [ "$(cat "$out/ret.out")" = "$(printf '42\n2.0\n0.5\n7')" ]
check "a result with no line to print is said once, then counted" \
  sh -c "grep -q 'record 4 came out with no line to print' '$out/ret.err' &&
    grep -q '2 records came out with no line to print' '$out/ret.err' &&
    [ \$(wc -l <'$out/ret.err') -eq 2 ]"

# A plugin's text reaches stderr escaped: its newlines cannot forge a
# line of lplug's, its escape sequences cannot recolor the terminal; NUL
# bytes arrive as \0, not as the end of the line.  Tabs stay.
mkdir -p "$out/forge/forge"
printf 'name: forge\nversion: 1.0.0\ncapabilities: { hooks: [record], log: {} }\n' \
  >"$out/forge/forge/plugin.yaml"
cat >"$out/forge/forge/init.lua" <<'LUA'
local log = require "lplug.log"
require("lplug.hooks").on("record", function(r)
  print("a\0b", "x\nlplug: forged\27[31mred\r")
  log.warn("w\27]0;title\7\194\155")
  error("boom\nlplug: forged error\27[2J", 0)
end)
LUA
echo r1 | "$LPLUG" run --plugins "$out/forge" >/dev/null 2>"$out/forge.err"
check "plugin text cannot forge lplug's lines" \
  [ "$(grep -c '^lplug: forged' "$out/forge.err")" -eq 0 ]
check "and holds no escape or control byte but tab and newline" \
  sh -c "! LC_ALL=C grep -q \"\$(printf '[\\001-\\010\\013-\\037\\177]')\" '$out/forge.err'"
tab=$(printf '\t')
check "print: NUL, newline, CR and ESC escaped, tab kept" \
  grep -qF "[forge] a\\0b${tab}x\\nlplug: forged\\x1b[31mred\\r" \
  "$out/forge.err"
check "log: other control bytes and C1 controls as hex" \
  grep -qF '[forge] w\x1b]0;title\x07\xc2\x9b' "$out/forge.err"
check "errors are escaped too" \
  grep -qF "lplug: plugin 'forge': error in hook 'record': boom\\nlplug: forged error\\x1b[2J" \
  "$out/forge.err"

echo r1 | "$LPLUG" run -v --plugins "$out/forge" >/dev/null 2>"$out/forge-v.err"
check "-v: a traceback keeps its lines, each indented" \
  grep -q "^${tab}.*forge/init.lua:5: in function" "$out/forge-v.err"

# The progress line shows only when the records do not go to the same
# terminal (script(1) gives the command one).
if command -v script >/dev/null 2>&1; then
  script -qec "$lplug_abs run --plugins plugins data/sample.log" /dev/null \
    >"$out/tty" 2>&1
  check "records on a terminal get no progress line among them" \
    sh -c "! grep -q 'records, ' '$out/tty'"
  script -qec "$lplug_abs run --plugins plugins data/sample.log >'$out/tty.out'" \
    /dev/null >"$out/tty2" 2>&1
  check "records to a file: the terminal shows the progress line" \
    grep -q 'records, ' "$out/tty2"
fi

# A host settings file grants only what it lists.
cat >"$out/lplug.yaml" <<YAML
plugins: [$PWD/plugins]
grants:
  "*": { hooks: [record] }
  redact: { hooks: [] }
YAML
printf 'a@b.cc DEBUG x\nmail x@y.org\n' |
  "$LPLUG" run --config "$out/lplug.yaml" >"$out/granted" 2>"$out/granted.err"
check "a settings file's grants decide: redact is refused, the others run" \
  [ "$(cat "$out/granted")" = "$(printf '    2  mail x@y.org')" ]
check "and the refusal names the plugin and the hook" \
  grep -q "hooks.on: the host does not grant 'record' of capability 'hooks' to plugin 'redact'" "$out/granted.err"
printf 'grants: [oops]\n' >"$out/bad.yaml"
echo x | "$LPLUG" run --config "$out/bad.yaml" >/dev/null 2>"$out/bad.err"
check "a bad settings file is the command's own failure (exit 1)" [ $? -eq 1 ]
check "and says where" grep -q "bad.yaml:1:9: grants: expected a mapping" "$out/bad.err"

# A settings file's config: reaches the plugin through lplug.config.
mkdir -p "$out/cfg/tag"
cat >"$out/cfg/tag/plugin.yaml" <<YAML
name: tag
version: 1.0.0
capabilities: { hooks: [record], config: {} }
config:
  prefix: { type: string, default: tag }
  times: { type: integer, default: 1, min: 1, max: 3 }
YAML
cat >"$out/cfg/tag/init.lua" <<'LUA'
local hooks = require "lplug.hooks"
local config = require "lplug.config"
hooks.on("record", function(rec)
  rec.line = config.prefix .. ": " .. rec.line:rep(config.times)
  return rec
end)
LUA
echo x | "$LPLUG" run --plugins "$out/cfg" >"$out/cfg.default"
check "without settings a plugin gets its config defaults" \
  [ "$(cat "$out/cfg.default")" = "tag: x" ]
cat >"$out/cfg.yaml" <<YAML
plugins: [$out/cfg]
grants: { "*": { hooks: [record], config: {} } }
config:
  tag: { prefix: custom, times: 2 }
YAML
echo x | "$LPLUG" run --config "$out/cfg.yaml" >"$out/cfg.set"
check "the settings file's config: overrides the defaults" \
  [ "$(cat "$out/cfg.set")" = "custom: xx" ]
sed 's/times: 2/times: 5/' "$out/cfg.yaml" >"$out/cfg-bad.yaml"
echo x | "$LPLUG" run --config "$out/cfg-bad.yaml" >/dev/null 2>"$out/cfg.err"
check "a bad config value keeps the plugin out, naming plugin, key and place" \
  grep -q "plugin 'tag': config.times: 5 is over the maximum 3 (set by the host at $out/cfg-bad.yaml:4:33)" "$out/cfg.err"

echo x | "$LPLUG" run --plugins tests/data/no-such-folder >/dev/null 2>"$out/nodir"
check "a missing plugin folder is the command's own failure (exit 1)" [ $? -eq 1 ]

"$LPLUG" run --plugins plugins data/sample.log /no/such/input \
  >"$out/noinput.out" 2>"$out/noinput"
check "a missing input file exits 1" [ $? -eq 1 ]
check "and says which file" grep -q "cannot open '/no/such/input'" "$out/noinput"
check "before any record passes (the files before it were run, and a run
      with the name corrected counted them twice)" [ ! -s "$out/noinput.out" ]

printf 't ERROR a\nt ERROR b\nt ERROR c\n' |
  "$LPLUG" run -v --plugins plugins >/dev/null 2>"$out/verbose"
check "-v says a grant once, though a plugin asks on every emit" \
  [ "$(grep -c "granted 'counter.error' of capability 'events.emit'" \
       "$out/verbose")" = 1 ]
# A folder with no plugin in it runs (a pipeline may come before its
# plugins) but says that records pass through unchanged.
mkdir "$out/empty"
echo "a line" | "$LPLUG" run --plugins "$out/empty" >"$out/empty.out" \
  2>"$out/empty.err"
check "a run with no plugin found exits 0, passing records through" \
  sh -c "[ $? -eq 0 ] && [ \"\$(cat '$out/empty.out')\" = 'a line' ]"
check "and warns, naming the folder" \
  grep -q "warning: no plugin found in '$out/empty', so records pass through unchanged" \
  "$out/empty.err"
"$LPLUG" run --bogus >/dev/null 2>&1
check "an unknown option exits 2" [ $? -eq 2 ]
"$LPLUG" >/dev/null 2>&1
check "no command exits 2" [ $? -eq 2 ]
"$LPLUG" run --help | grep -q "usage: lplug run"
check "run --help shows usage" [ $? -eq 0 ]
"$LPLUG" --help | grep -q "commands:"
check "--help lists commands" [ $? -eq 0 ]
"$LPLUG" version | grep -q "^lplug 0.1.0"
check "version prints the version" [ $? -eq 0 ]
"$LPLUG" version extra >/dev/null 2>&1
check "version with an argument is bad usage (exit 2)" [ $? -eq 2 ]
"$LPLUG" help run | grep -q "usage: lplug run"
check "help run prints run's help" [ $? -eq 0 ]
"$LPLUG" help run extra >/dev/null 2>&1
check "help with two commands is bad usage (exit 2)" [ $? -eq 2 ]
"$LPLUG" help nothing >/dev/null 2>&1
check "help of no command is bad usage (exit 2)" [ $? -eq 2 ]
if [ -w /dev/full ]; then
  "$LPLUG" stats --plugins plugins >/dev/full 2>"$out/full"
  check "output that cannot be written fails the command (exit 1)" [ $? -eq 1 ]
  check "and says why" grep -q "cannot write the output" "$out/full"
  "$LPLUG" hooks --plugins plugins >/dev/full 2>"$out/full"
  check "hooks too (exit 1, saying why)" \
    sh -c "[ $? -eq 1 ] && grep -q 'cannot write the output' '$out/full'"
fi
"$LPLUG" stats --storage "$out/typo.db" >/dev/null 2>"$out/typo"
check "stats of a storage file that is not there fails (exit 1)" [ $? -eq 1 ]
check "and makes none" [ ! -e "$out/typo.db" ]
echo "not a database" >"$out/notdb"
"$LPLUG" run --plugins plugins --storage "$out/notdb" </dev/null >/dev/null 2>"$out/notdb.err"
check "a storage file that is not one stops the run (exit 1)" [ $? -eq 1 ]
check "said once, as the file's problem" \
  [ "$(grep -c "file is not a database (opened for plugin" "$out/notdb.err")" -eq 1 ]
"$LPLUG" stats --plugins plugins --storage "$out/notdb" >/dev/null 2>"$out/notdb.err"
check "stats says a storage file that is not one once" \
  [ "$(grep -c "file is not a database" "$out/notdb.err")" -eq 1 ]

# Forty folders of one plugin each: every one is loaded, whether named by
# --plugins or by the settings file (a fixed array once dropped the rest).
mkdir "$out/many"
set --
list=
i=1
while [ $i -le 40 ]; do
  mkdir -p "$out/many/d$i/p$i"
  printf 'name: p%d\nversion: 1.0.0\ncapabilities: { hooks: [record] }\n' $i \
    >"$out/many/d$i/p$i/plugin.yaml"
  echo 'require("lplug.hooks").on("record", function(r) return r end)' \
    >"$out/many/d$i/p$i/init.lua"
  set -- "$@" --plugins "$out/many/d$i"
  list="$list${list:+, }d$i"
  i=$((i + 1))
done
printf 'plugins: [%s]\ngrants: { "*": { hooks: [record] } }\n' "$list" \
  >"$out/many/lplug.yaml"
check "stats loads 40 --plugins folders" \
  [ "$("$LPLUG" stats "$@" | grep -c '^p[0-9]')" -eq 40 ]
check "hooks loads the settings file's 40 folders" \
  sh -c "cd '$out/many' && '$lplug_abs' hooks | grep -q '^record (40 handlers)'"

# A plugin's own folder given to --plugins is that plugin.
echo "mail bob@example.com" | "$LPLUG" run --plugins plugins/redact >"$out/own"
check "run --plugins PLUGIN-FOLDER runs that plugin" grep -q "mail <email>" "$out/own"

# Output reaches a pipe as each record is done, not when 4 KB have
# gathered: the reader sees the first line while the input stays open.
mkfifo "$out/fifo"
("$LPLUG" run --plugins plugins/redact <"$out/fifo" >"$out/piped") &
exec 4>"$out/fifo"
echo "mail bob@example.com" >&4
i=0
while [ $i -lt 100 ] && ! grep -q "<email>" "$out/piped"; do
  sleep 0.1
  i=$((i + 1))
done
check "output is flushed before lplug waits for input" grep -q "<email>" "$out/piped"
exec 4>&-
wait

# With SIGPIPE ignored (as services often run), a reader that went away
# stops the run at once with exit 1, instead of reading on for nothing.
(trap '' PIPE; yes "a line" | timeout 20 "$LPLUG" run --plugins plugins/redact \
   2>"$out/epipe.err"; echo $? >"$out/epipe.rc") | head -n 1 >/dev/null
check "a closed output stops the run (exit 1)" [ "$(cat "$out/epipe.rc")" = 1 ]
check "and says why" grep -q "cannot write output: Broken pipe" "$out/epipe.err"

# Two plugins answering each other's events without end: the run still
# ends (delivery at the end stops after 100 rounds), and the events left
# queued are said to be dropped.
mkdir -p "$out/pp/ping" "$out/pp/pong"
printf 'name: ping\nversion: 1.0.0\ncapabilities: { hooks: [record], events: { emit: [ping], on: [pong] } }\n' \
  >"$out/pp/ping/plugin.yaml"
cat >"$out/pp/ping/init.lua" <<'LUA'
local events = require "lplug.events"
require("lplug.hooks").on("record", function() events.emit("ping", {}) end)
events.on("pong", function() events.emit("ping", {}) end)
LUA
printf 'name: pong\nversion: 1.0.0\ncapabilities: { events: { emit: [pong], on: [ping] } }\n' \
  >"$out/pp/pong/plugin.yaml"
cat >"$out/pp/pong/init.lua" <<'LUA'
local events = require "lplug.events"
events.on("ping", function() events.emit("pong", {}) end)
LUA
echo x | timeout 20 "$LPLUG" run --plugins "$out/pp" >"$out/pp.out" 2>"$out/pp.err"
check "plugins answering each other without end: the run ends (exit 0)" \
  [ $? -eq 0 -a "$(cat "$out/pp.out")" = x ]
check "and says the events still queued were dropped" \
  grep -q "warning: 1 event(s) still queued after 100 rounds of delivery at the end were dropped" "$out/pp.err"

# A reader that goes away (`| head -1`) ends the run as the end of its
# input does: the plugins' shutdown callbacks run and what they store is
# kept; then lplug dies of SIGPIPE, quietly, as a shell expects (it died
# at the write, and a plugin keeping its count in memory lost it).
mkdir -p "$out/tally/tally"
printf 'name: tally\nversion: 1.0.0\ncapabilities: { hooks: [record], storage: {}, log: {} }\n' \
  >"$out/tally/tally/plugin.yaml"
cat >"$out/tally/tally/init.lua" <<'LUA'
local storage = require "lplug.storage"
local seen = 0
print("stored " .. (storage.get("seen") or 0))
require("lplug.hooks").on("record", function() seen = seen + 1 end)
return { shutdown = function() storage.incr("seen", seen) end }
LUA
(trap - PIPE; yes "a line" | timeout 20 "$LPLUG" run --plugins "$out/tally" \
   --storage "$out/tally.db" 2>"$out/tally.err"; echo $? >"$out/tally.rc") |
  head -n 1 >/dev/null
check "a reader that went away ends the run by SIGPIPE (status 141)" \
  [ "$(cat "$out/tally.rc")" = 141 ]
check "and quietly" sh -c "! grep -q '^lplug:' '$out/tally.err'"
"$LPLUG" run --plugins "$out/tally" --storage "$out/tally.db" </dev/null \
  2>"$out/tally2.err"
check "what the plugins' shutdown stored then is kept" \
  sh -c "grep -q '^\[tally\] stored [1-9]' '$out/tally2.err'"

# A reader gone while lplug waits for input ends the run then, not when
# more input comes: the output is flushed before waiting, and that
# write is the one that fails.
mkfifo "$out/in" "$out/outfifo"
("$LPLUG" run --plugins plugins/redact <"$out/in" >"$out/outfifo" \
   2>/dev/null; echo $? >"$out/gone.rc") &
exec 4>"$out/in" 5<"$out/outfifo"
exec 5<&-
echo "a line" >&4
i=0
while [ $i -lt 100 ] && [ ! -s "$out/gone.rc" ]; do
  sleep 0.1
  i=$((i + 1))
done
check "a reader gone ends a run waiting for input (SIGPIPE's status)" \
  [ "$(cat "$out/gone.rc" 2>/dev/null)" = 141 ]
exec 4>&-
wait

echo "a line" >"$out/-dash.log"
(cd "$out" && "$lplug_abs" run --plugins "$OLDPWD/plugins/redact" -- -dash.log) >"$out/dash"
check "-- ends the options: a file may start with '-'" grep -q "a line" "$out/dash"
"$LPLUG" run --storage '' </dev/null >/dev/null 2>&1
check "an empty --storage is bad usage (exit 2)" [ $? -eq 2 ]
timeout 20 "$LPLUG" run --watch --plugins plugins <&- >"$out/closed" 2>&1
check "a closed standard input reads as empty, also with --watch" [ $? -eq 0 ]

done_testing
