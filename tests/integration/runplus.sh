#!/bin/sh
# `lplug run --json`, `--stats`, `lplug stats`, the example plugins over
# a generated access log, and the help of every command.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
case $LPLUG in /*) lplug_abs=$LPLUG ;; *) lplug_abs=$(pwd)/$LPLUG ;; esac
trap 'rm -rf "$out"' EXIT

printf '{"line":"mail a@b.cc","n":1}\nnot json\n{"line":"x DEBUG y","n":3}\n' |
  "$LPLUG" run --json --plugins plugins >"$out/json" 2>"$out/json.err"
# Object keys come out in the plugin state's table order: test each one.
check "--json: each line is decoded, the result printed as one JSON line" \
  sh -c "[ \$(wc -l <'$out/json') -eq 1 ] &&
    grep -q '\"line\":\"    1  mail <email>\"' '$out/json' &&
    grep -q '\"n\":1' '$out/json' && grep -q '\"redacted\":1' '$out/json'"
check "--json: a line that is not JSON is reported with its number, column and reason" \
  grep -q "input line 2 is not JSON: column 1: expected a value, found 'n'; skipped" "$out/json.err"
printf '[]\n[null]\nnull\n{"a": 1, "a": 2}\n{}\n' |
  "$LPLUG" run --json --plugins plugins/redact >"$out/obj" 2>"$out/obj.err"
check "--json: records are objects; arrays and null are said, not made {}" \
  sh -c "[ \"\$(cat '$out/obj')\" = '{}' ] &&
    grep -q 'input line 1 is an array, not an object' '$out/obj.err' &&
    grep -q 'input line 2 is an array, not an object' '$out/obj.err' &&
    grep -q 'input line 3 is null, not an object' '$out/obj.err'"
check "--json: a key given twice is refused where it is given again" \
  grep -q 'input line 4 is not JSON: column 10: duplicate key "a"' "$out/obj.err"
mkdir -p "$out/nan/nan"
printf 'name: nan\nversion: 1.0.0\ncapabilities: { hooks: [record] }\n' \
  >"$out/nan/nan/plugin.yaml"
echo 'require("lplug.hooks").on("record", function(r) r.x = 0/0 return r end)' \
  >"$out/nan/nan/init.lua"
echo '{"a":1}' | "$LPLUG" run --json --plugins "$out/nan" >"$out/nan.out" \
  2>"$out/nan.err"
check "--json: a result JSON cannot hold (NaN) is said and dropped, not null" \
  sh -c "[ ! -s '$out/nan.out' ] &&
    grep -q 'record 1 came out as what JSON cannot hold (NaN' '$out/nan.err'"
i=0
while [ $i -lt 12 ]; do echo "not json $i"; i=$((i + 1)); done |
  "$LPLUG" run --json --plugins plugins >/dev/null 2>"$out/bad.err"
check "--json: after ten bad lines the rest are counted, and the count said" \
  sh -c "[ \$(grep -c 'is not JSON: column 1: .*; skipped' '$out/bad.err') -eq 10 ] &&
    grep -q 'further lines that are not JSON objects are counted' '$out/bad.err' &&
    grep -q '^lplug: 12 input lines were not JSON objects' '$out/bad.err'"

scripts/gen-access-log 2000 >"$out/access.log"
scripts/gen-access-log 2000 | cmp -s - "$out/access.log"
check "the generated access log is the same every time" [ $? -eq 0 ]
"$LPLUG" run --stats --storage "$out/db" --plugins plugins "$out/access.log" \
  >"$out/access.out" 2>"$out/access.err"
check "the example plugins run over the access log" [ $? -eq 0 ]
check "every line comes out (sample keeps all by default)" \
  [ "$(wc -l <"$out/access.out")" -eq 2000 ]
check "e-mails, card numbers and IPs are masked" \
  [ "$(grep -c '@example.com\|4111-1111\|^ *[0-9]*  [0-9]*\.[0-9]' "$out/access.out")" -eq 0 ]
check "--stats prints a table with every plugin" \
  [ "$(grep -c ' active ' "$out/access.err")" -eq 8 ]
check "the table has the columns it promises" \
  grep -q "^plugin  *state  *calls  *errors  *instructions  *mem peak  *storage$" "$out/access.err"
check "the counter made 2001 calls (load and every record)" \
  grep -q "^counter  *active  *2001  *0 " "$out/access.err"
mkdir -p "$out/one" && cp -r plugins/number "$out/one/"
"$LPLUG" run --stats=json --plugins "$out/one" </dev/null 2>"$out/sj" >/dev/null
check "--stats=json is one JSON array" \
  grep -q '^\[{"plugin":"number","state":"active","calls":1,' "$out/sj"
"$LPLUG" stats --storage "$out/db" >"$out/stats"
check "lplug stats shows what a run stored" \
  grep -q "^counter  *active  *1  *0 .* [0-9]* B$" "$out/stats"
"$LPLUG" stats --json --plugins "$out/one" | grep -q '"plugin":"number"'
check "lplug stats --json" [ $? -eq 0 ]

# stats loads the plugins, whose main chunks may write storage: it must
# not change the file (storage.incr at load counted each stats once more).
mkdir -p "$out/loads/loads"
printf 'name: loads\nversion: 1.0.0\ncapabilities: { hooks: [record], storage: {} }\n' \
  >"$out/loads/loads/plugin.yaml"
cat >"$out/loads/loads/init.lua" <<'EOF'
local storage = require "lplug.storage"
storage.incr("loads")
require("lplug.hooks").on("record", function(r)
  return r.line .. " " .. storage.get("loads")
end)
EOF
echo x | "$LPLUG" run --plugins "$out/loads" --storage "$out/loads.db" >/dev/null
cp "$out/loads.db" "$out/loads.before"
"$LPLUG" stats --plugins "$out/loads" --storage "$out/loads.db" >"$out/loads.stats"
check "stats counts the storage of a plugin that writes as it loads" \
  grep -q "^loads  *active  *1  *0 .* [0-9]* B$" "$out/loads.stats"
"$LPLUG" stats --plugins "$out/loads" --storage "$out/loads.db" >/dev/null
check "stats leaves the storage file as it was" cmp -s "$out/loads.before" "$out/loads.db"
check "and makes no WAL beside it" [ ! -e "$out/loads.db-wal" ]
check "the next run counts its own load only" \
  [ "$(echo x | "$LPLUG" run --plugins "$out/loads" --storage "$out/loads.db")" = "x 2" ]
# stats reads the settings 'lplug run' reads (./lplug.yaml, or --config):
# its plugin folders and its storage file, so that the two commands
# speak of the same plugins and entries.
mkdir "$out/settled"
printf 'plugins: [%s/plugins/counter]\nstorage: { path: kept.db }\ngrants: { counter: { hooks: [record], storage: {}, events: true } }\n' \
  "$PWD" >"$out/settled/lplug.yaml"
(cd "$out/settled" && "$lplug_abs" stats) >"$out/settled.before" 2>&1
check "stats with lplug.yaml before any run: its plugins, nothing stored" \
  grep -q "^counter  *active  *1  *0 .* 0 B$" "$out/settled.before"
check "and makes no storage file" [ ! -e "$out/settled/kept.db" ]
(cd "$out/settled" && printf 't ERROR a\n' | "$lplug_abs" run >/dev/null 2>&1 &&
  "$lplug_abs" stats) >"$out/settled.after" 2>&1
check "stats with lplug.yaml after a run: what the run stored in its file" \
  grep -q "^counter  *active  *1  *0 .* [1-9][0-9]* B$" "$out/settled.after"
"$LPLUG" stats --config "$out/settled/lplug.yaml" --json >"$out/settled.json" 2>&1
check "stats --config FILE reads FILE" \
  grep -q '"plugin":"counter".*"storage_bytes":[1-9]' "$out/settled.json"
mkdir "$out/elsewhere"
sed 's|kept.db|../settled/kept.db|' "$out/settled/lplug.yaml" \
  >"$out/elsewhere/lplug.yaml"
(cd "$out/elsewhere" && "$lplug_abs" stats) >"$out/elsewhere.stats" 2>&1
check "stats reads a storage file the settings name in another folder" \
  grep -q "^counter  *active  *1  *0 .* [1-9][0-9]* B$" "$out/elsewhere.stats"
# Only a file not written yet is nothing stored; a storage path a run
# cannot open (no such folder, a file in the way) is an error, as in run.
for bad in nofolder/kept.db settled/lplug.yaml/kept.db; do
  sed "s|kept.db|$out/$bad|" "$out/settled/lplug.yaml" >"$out/bad.yaml"
  "$LPLUG" stats --config "$out/bad.yaml" >/dev/null 2>"$out/bad.err"
  check "stats with a settings storage path no run can open ($bad) fails" \
    sh -c "[ $? -eq 1 ] && grep -q \"cannot read storage file '$out/$bad'\" '$out/bad.err'"
done
# storage ":memory:": a run keeps nothing, whatever file has that name.
sed 's|kept.db|":memory:"|' "$out/settled/lplug.yaml" >"$out/elsewhere/lplug.yaml"
cp "$out/settled/kept.db" "$out/elsewhere/:memory:"
(cd "$out/elsewhere" && "$lplug_abs" stats) >"$out/memory.stats" 2>&1
check "stats with storage :memory: in the settings: nothing stored" \
  grep -q "^counter  *active  *1  *0 .* 0 B$" "$out/memory.stats"
printf 'grants: { counter: { hooks: [] } }\n' >"$out/nogrant.yaml"
"$LPLUG" stats --config "$out/nogrant.yaml" --plugins plugins/counter \
  >"$out/nogrant" 2>&1
check "stats grants what the settings grant, as run does" \
  grep -q "the host does not grant capability 'storage' to plugin 'counter'" \
  "$out/nogrant"
"$LPLUG" run --plugins plugins data/sample.log 2>&1 >/dev/null | grep -c . >"$out/n"
check "no progress line when stderr is not a terminal" \
  [ "$(cat "$out/n")" -eq 2 ]

for c in run test check new stats hooks; do
  "$LPLUG" $c --help >"$out/help" 2>&1
  check "lplug $c --help exits 0 with usage and examples" \
    sh -c "grep -q '^usage: lplug $c' '$out/help' && grep -q '^examples:' '$out/help'"
done
"$LPLUG" --help | grep -q "^exit status:"
check "lplug --help documents the exit codes" [ $? -eq 0 ]

done_testing
