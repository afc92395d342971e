#!/bin/sh
# `lplug new` and `lplug check`: a new plugin passes check and test as
# made; check reports each kind of problem as file:line: message.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$LPLUG" new tagger --dir "$out" >"$out/new.out"
check "new makes a plugin folder" [ $? -eq 0 ]
check "with a manifest, code, a spec and a README" \
  [ -f "$out/tagger/plugin.yaml" -a -f "$out/tagger/init.lua" -a \
    -f "$out/tagger/spec/init_spec.lua" -a -f "$out/tagger/README.md" ]
check "the manifest is commented" grep -q "^# " "$out/tagger/plugin.yaml"
"$LPLUG" check "$out/tagger" >"$out/check.out"
check "the new plugin passes lplug check" [ $? -eq 0 ]
"$LPLUG" test "$out/tagger" >"$out/test.out"
check "the new plugin passes lplug test" [ $? -eq 0 ]
check "with its two tests" [ "$(tail -n 1 "$out/test.out")" = "2 passed, 0 failed" ]
echo hi | "$LPLUG" run --plugins "$out" >"$out/run.out"
check "and runs" [ "$(cat "$out/run.out")" = "hi" ]
"$LPLUG" check "$out/" >"$out/check-slash.out"
check "a folder given with a trailing / names its plugins with one /" \
  [ "$(cat "$out/check-slash.out")" = "$out/tagger: ok" ]
"$LPLUG" test "$out/" >"$out/test-slash.out"
check "and so does test" grep -q "^$out/tagger: 2 passed" "$out/test-slash.out"
echo hi | "$LPLUG" run --plugins "$out" --plugins "$out/" --plugins "$out/tagger" \
  >"$out/run-twice.out" 2>"$out/run-twice.err"
check "a plugin folder given thrice loads once" \
  [ $? -eq 0 -a "$(cat "$out/run-twice.out")" = "hi" ]
check "with no complaint of a name met twice" \
  [ -z "$(grep "also in" "$out/run-twice.err")" ]
"$LPLUG" new tagger --dir "$out" 2>"$out/again"
check "new refuses an existing folder (exit 1)" [ $? -eq 1 ]
check "and says what to do" grep -q "choose another name" "$out/again"
"$LPLUG" new tagger --dir "$out/fresh/er" >/dev/null
check "new makes the --dir folders when absent" [ -f "$out/fresh/er/tagger/plugin.yaml" ]
"$LPLUG" new Bad >/dev/null 2>&1
check "new refuses a bad name (exit 2)" [ $? -eq 2 ]
case $LPLUG in /*) lplug_abs=$LPLUG ;; *) lplug_abs=$(pwd)/$LPLUG ;; esac
(cd "$out" && "$lplug_abs" new empty --dir "" >/dev/null 2>&1)
check "new refuses an empty --dir (exit 2), not making /empty" \
  sh -c "[ $? -eq 2 ] && [ ! -e /empty ]"
part=$(printf '%0250d' 0)
long=$part/$part/$part/$part/$part/$part/$part/$part/$part/$part/$part/$part/$part/$part/$part/$part
mkdir -p "$out/$long"
"$LPLUG" new abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz --dir "$out/$long" >/dev/null 2>"$out/long"
check "new refuses a path too long for its files (exit 1)" [ $? -eq 1 ]
check "and makes nothing" sh -c "[ -z \"\$(ls '$out/$long')\" ]"
(ulimit -f 0; trap '' XFSZ; "$LPLUG" new half --dir "$out/part" >/dev/null 2>&1)
check "a new that cannot write its files leaves no half plugin" \
  [ ! -e "$out/part/half" ]
"$LPLUG" new null --dir "$out/kw" >/dev/null && "$LPLUG" check "$out/kw/null" >/dev/null
check "a plugin named null passes check as made (its name is quoted)" [ $? -eq 0 ]
cp -r "$out/tagger" "$out/misspelt"
printf 'name: misspelt\nversion: 1.0.0\ncapabilities: { hooks: [record], config: {}, storag: {} }\n' \
  >"$out/misspelt/plugin.yaml"
"$LPLUG" check "$out/misspelt" >"$out/misspelt.out"
check "check exits 1 on a misspelt capability" [ $? -eq 1 ]
check "and says where it is written" grep -q \
  "^$out/misspelt/plugin.yaml:3:46: unknown key 'capabilities.storag' (ignored" \
  "$out/misspelt.out"

# Linked folders are not entered: ten links back to their own folder made
# check visit millions of folders, and a link to '..' left the plugin.
cp -r "$out/tagger" "$out/loopy"
mkdir "$out/loopy/sub"
for i in 1 2 3 4 5 6 7 8 9 10; do ln -s . "$out/loopy/sub/s$i"; done
ln -s .. "$out/loopy/up"
timeout 60 "$LPLUG" check "$out/loopy" >"$out/loopy.out"
check "check does not follow folder links (exit 0, at once)" [ $? -eq 0 ]
cp -r "$out/tagger" "$out/many"
mkdir "$out/many/lib"
i=0
while [ $i -le 1000 ]; do echo "return $i" >"$out/many/lib/m$i.lua"; i=$((i + 1)); done
"$LPLUG" check "$out/many" >"$out/many.out"
check "check says when it stopped at 1000 files (exit 1)" [ $? -eq 1 ]
check "and how many" grep -q "more than 1000 .lua files; the rest were not checked" "$out/many.out"
cp -r "$out/tagger" "$out/wide"
i=0
while [ $i -le 1000 ]; do mkdir "$out/wide/d$i"; i=$((i + 1)); done
"$LPLUG" check "$out/wide" >"$out/wide.out"
check "and at 1000 folders" \
  grep -q "more than 1000 folders; the rest were not checked" "$out/wide.out"

bad=tests/integration/check-bad
"$LPLUG" check "$bad" >"$out/bad"
check "check exits 1 on problems" [ $? -eq 1 ]
check "an undeclared module, with its line" \
  grep -q "^$bad/sloppy/init.lua:3: requires 'lplug.storage', but plugin.yaml does not declare capability 'storage'" "$out/bad"
check "a hook point not listed" \
  grep -q "^$bad/sloppy/init.lua:6: hooks.on('audit'): hook point not listed" "$out/bad"
check "a topic not covered" \
  grep -q "^$bad/sloppy/init.lua:8: events.emit('other.topic')" "$out/bad"
check "comments, long strings and built names are not taken for code" \
  [ "$(grep -c "^$bad/sloppy/" "$out/bad")" -eq 3 ]
check "a long comment keeps the lines after it numbered" \
  grep -q "^$bad/lines/init.lua:9: requires 'lplug.events'" "$out/bad"
check "and a long string's text is not code" \
  [ "$(grep -c "^$bad/lines/" "$out/bad")" -eq 1 ]
check "a syntax error in the main file" \
  grep -q "^$bad/syntax/init.lua:4: <name> or '...' expected near <eof>" "$out/bad"
check "and in a required file" \
  grep -q "^$bad/syntax/lib/more.lua:2: unexpected symbol" "$out/bad"
check "a bad manifest" \
  grep -q "^$bad/manifest/plugin.yaml:2:10: version: '1.x' is not a semantic version" "$out/bad"
check "an error while loading, its place said once" \
  grep -q "^$bad/crash/init.lua:3: plugin 'crash': error in loading: attempt to index a nil value" "$out/bad"
printf 'config:\n  sloppy: { level: 9 }\n' >"$out/lplug.yaml"
"$LPLUG" check -q --config "$out/lplug.yaml" "$bad/sloppy" >"$out/cfg"
check "a settings file's config value, at its place" \
  grep -q "^$out/lplug.yaml:2:20: plugin 'sloppy': config.level: 9 is over the maximum 5" "$out/cfg"
printf 'config:\n  sloppy: { levl: 2 }\n' >"$out/typo.yaml"
"$LPLUG" check -q --config "$out/typo.yaml" "$bad/sloppy" >"$out/typo"
check "a key the schema lacks, at its place in the settings file" \
  grep -q "^$out/typo.yaml:2:19: plugin 'sloppy': config.levl: set by the host, but the plugin declares no such key" "$out/typo"

# The advice for an undeclared module is what declares it: hooks and
# events take lists, and 'hooks: {}' (which check itself refuses)
# declared nothing.
check "an undeclared lplug.events is declared with its lists" \
  grep -q "^$bad/lines/init.lua:9: .*(add it under capabilities:, e.g. 'events: { emit: \[...\], on: \[...\] }')" "$out/bad"
mkdir "$out/nohooks"
printf 'name: nohooks\nversion: 1.0.0\n' >"$out/nohooks/plugin.yaml"
echo 'require("lplug.hooks").on("record", function(r) end)' \
  >"$out/nohooks/init.lua"
"$LPLUG" check "$out/nohooks" >"$out/nohooks.out"
check "an undeclared lplug.hooks is declared with the hook points" \
  grep -q "^$out/nohooks/init.lua:1: .*(add it under capabilities:, e.g. 'hooks: \[record\]')" "$out/nohooks.out"

# Hook points are defined as 'lplug run' defines them: "*" (all) and a
# single name written without a list are as good as [record].  Only the
# listed names were defined, and check failed plugins that run accepted.
for form in '["*"]' 'record'; do
  rm -rf "$out/star"
  mkdir "$out/star"
  printf 'name: star\nversion: 1.0.0\ncapabilities: { hooks: %s }\n' "$form" \
    >"$out/star/plugin.yaml"
  echo 'require("lplug.hooks").on("record", function(r) r.line = "*" .. r.line return r end)' \
    >"$out/star/init.lua"
  "$LPLUG" check "$out/star" >"$out/star.out"
  check "a plugin with hooks: $form passes check" [ $? -eq 0 ]
  check "as it runs" [ "$(echo x | "$LPLUG" run --plugins "$out/star")" = "*x" ]
done

# Every load error once, at the line it is about: the manifest's place
# was printed twice, and others got a made-up plugin.yaml:1.
mkdir "$out/places"
printf 'name: big\nversion: 1.0.0\nlimits:\n  memory: 8 MB\n' >"$out/places/plugin.yaml"
echo 'return 1' >"$out/places/init.lua"
"$LPLUG" check "$out/places" >"$out/places.out"
check "a limit over the host's, at its place once" \
  [ "$(cat "$out/places.out")" = "$out/places/plugin.yaml:4:11: limits.memory: 8 MB is over the host's ceiling of 4 MB (ask for at most that)" ]
printf 'name: big\nversion: 1.0.0\ncapabilities:\n  storage: { quota: 2MB }\n' >"$out/places/plugin.yaml"
"$LPLUG" check "$out/places" >"$out/places.out"
check "a storage quota over the host's, at its line" \
  grep -q "^$out/places/plugin.yaml:4:21: plugin 'big': capabilities.storage.quota: 2 MB is over" "$out/places.out"
printf 'name: big\nversion: 1.0.0\nmain: start.lua\n' >"$out/places/plugin.yaml"
"$LPLUG" check "$out/places" >"$out/places.out"
check "a main file that is not there, at main:" \
  grep -q "^$out/places/plugin.yaml:3:7: plugin 'big': cannot load: cannot load 'start.lua': no such file" "$out/places.out"
printf 'name: big\nversion: 1.0.0\n' >"$out/places/plugin.yaml"
rm "$out/places/init.lua"
"$LPLUG" check "$out/places" >"$out/places.out"
check "and init.lua when there is no main:, at the manifest without a line" \
  grep -q "^$out/places/plugin.yaml: plugin 'big': cannot load: cannot load 'init.lua'" "$out/places.out"

# A .lua link out of the folder is a problem, and is not read: one to
# /etc/passwd was compiled and a token of it printed.
cp -r "$out/tagger" "$out/linked"
mkdir "$out/linked/lib"
echo 'SECRET words here' >"$out/elsewhere.txt"
ln -s "$out/elsewhere.txt" "$out/linked/lib/out.lua"
ln -s ../init.lua "$out/linked/lib/in.lua"
"$LPLUG" check "$out/linked" >"$out/linked.out"
check "check reports a .lua link out of the folder (exit 1)" [ $? -eq 1 ]
check "as loading it would" \
  grep -q "^$out/linked/lib/out.lua: cannot load 'lib/out.lua': it resolves outside the plugin folder" "$out/linked.out"
check "without reading it" [ "$(grep -c "SECRET\|near" "$out/linked.out")" -eq 0 ]
check "and a link inside the folder is only checked" [ "$(wc -l <"$out/linked.out")" -eq 1 ]
"$LPLUG" check plugins >"$out/examples"
check "the example plugins pass check" [ $? -eq 0 ]
# A settings entry for a plugin not among those checked is misspelt, or
# for other folders: a warning, as lplug run gives, not a problem.
printf 'grants:\n  "*": { hooks: [record] }\n  redact: { log: {} }\n  redcat: { log: {} }\nconfig:\n  tager: { x: 1 }\n' \
  >"$out/names.yaml"
"$LPLUG" check -q --config "$out/names.yaml" plugins >"$out/names.out"
check "check --config warns of entries naming no checked plugin (exit 0)" \
  [ $? -eq 0 ]
check "each with its file:line:col" sh -c "
  grep -q \"^warning: $out/names.yaml:4:3: grants: 'redcat' names no plugin\" '$out/names.out' &&
  grep -q \"^warning: $out/names.yaml:6:3: config: 'tager' names no plugin\" '$out/names.out' &&
  [ \$(wc -l <'$out/names.out') -eq 2 ]"
"$LPLUG" check >/dev/null 2>&1
check "check without a folder is bad usage (exit 2)" [ $? -eq 2 ]
"$LPLUG" check - >/dev/null 2>&1
check "check - is a folder named '-', which is not there (exit 1)" [ $? -eq 1 ]
"$LPLUG" test - >/dev/null 2>&1
check "test - likewise (it did nothing and said 0)" [ $? -eq 1 ]
"$LPLUG" check --help | grep -q "usage: lplug check"
check "check --help" [ $? -eq 0 ]
"$LPLUG" new --help | grep -q "usage: lplug new"
check "new --help" [ $? -eq 0 ]
"$LPLUG" new twice --dir "$out/d1" --dir "$out/d2" >/dev/null 2>&1
check "new with --dir twice is bad usage (exit 2), making nothing" \
  sh -c "[ $? -eq 2 ] && [ ! -e '$out/d1' ] && [ ! -e '$out/d2' ]"
"$LPLUG" new --dir "$out/dd" -- dashed >/dev/null
check "new takes -- as the end of options" [ -f "$out/dd/dashed/plugin.yaml" ]
"$LPLUG" new --dir "$out/dd" -- --dir >/dev/null 2>&1
check "and what follows it as the name ('--dir' is not one: exit 2)" \
  sh -c "[ $? -eq 2 ] && [ ! -e '$out/dd/--dir' ]"

# The tutorial in docs/plugin-guide.md shows the files lplug new makes.
block() {  # the fenced block after the marker line "<!-- test: file plugins/tagger/$1 -->"
  awk -v m="<!-- test: file plugins/tagger/$1 -->" '$0 == m {on = 1; next}
    on && /^```/ {if (started) exit; started = 1; next} on && started' \
    docs/plugin-guide.md
}
block init.lua >"$out/guide-init.lua"
check "the guide's init.lua is what lplug new makes" \
  cmp -s "$out/guide-init.lua" "$out/tagger/init.lua"
block spec/init_spec.lua >"$out/guide-spec.lua"
check "the guide's spec is what lplug new makes" \
  cmp -s "$out/guide-spec.lua" "$out/tagger/spec/init_spec.lua"

done_testing
