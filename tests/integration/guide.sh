#!/bin/sh
# docs/plugin-guide.md: every fenced block is run.  The HTML comment
# right before a block says how (tests/guide/README.md lists the kinds);
# a block without one fails.  Blocks run in order in one scratch folder,
# the session, as a reader following the guide would.
. tests/integration/lib.sh
top=$(pwd)
guide=docs/plugin-guide.md
cases=$top/tests/guide
PATH=$top/${BUILD:-build}:$PATH
export PATH
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
s=$w/session
mkdir -p "$s" "$w/blocks"

# Split the guide: blocks/N.body (indentation of the fence removed),
# blocks/N.marker (the comment's first line, then its other lines), and
# one line "N LINE LANG" per block on stdout.
awk -v dir="$w/blocks" '
  !inb && /^ *<!-- test: / {
    mk = $0; sub(/^ *<!-- test: */, "", mk); inm = 1; mkend = 0
    if (sub(/ *-->$/, "", mk)) { inm = 0; mkend = NR }
    mk = mk "\n"; next
  }
  inm { line = $0; if (sub(/ *-->$/, "", line)) { inm = 0; mkend = NR }
        if (line !~ /^ *$/) mk = mk line "\n"; next }
  !inb && /^ *```/ {
    n++; inb = 1; ind = match($0, /[^ ]/) - 1
    lang = substr($0, ind + 4); if (lang == "") lang = "-"
    body = dir "/" n ".body"; printf "" >body
    if (mkend == NR - 1) { printf "%s", mk >(dir "/" n ".marker"); close(dir "/" n ".marker") }
    print n, NR, lang; next
  }
  inb && /^ *```$/ { inb = 0; close(body); next }
  inb { print substr($0, ind + 1) >>body }
' "$guide" >"$w/list"

# matches EXPECTED ACTUAL [numbers]: each line of file EXPECTED matches the
# line of file ACTUAL at the same place; "..." in EXPECTED stands for any
# text, and with "numbers" any number for any number and any run of
# spaces for any other.
matches() {
  awk -v loose="$3" '
    function norm(t) { if (loose) { gsub(/[0-9]+(\.[0-9]+)?/, "#", t); gsub(/ +/, " ", t) } return t }
    function like(p, t,   k, i, parts, at) {
      k = split(p, parts, /\.\.\./)
      if (k == 1) return p == t
      if (substr(t, 1, length(parts[1])) != parts[1]) return 0
      t = substr(t, length(parts[1]) + 1)
      for (i = 2; i < k; i++) { at = index(t, parts[i]); if (!at) return 0; t = substr(t, at + length(parts[i])) }
      return length(t) >= length(parts[k]) && substr(t, length(t) - length(parts[k]) + 1) == parts[k]
    }
    FNR == NR { want[++n] = norm($0); next }
    { got[++m] = norm($0) }
    END {
      for (i = 1; i <= n || i <= m; i++)
        if (!like(want[i], got[i])) { printf "  line %d: expected: %s\n           got:      %s\n", i, want[i], got[i]; exit 1 }
    }' "$1" "$2"
}

opt() {  # opt NAME OPTIONS: the value of NAME=VALUE, or NAME if a bare word
  for o in $2; do
    case $o in "$1") echo "$1"; return ;; "$1"=*) echo "${o#*=}"; return ;; esac
  done
}
prefix() { tail -n +2 "$w/blocks/$1.marker"; }  # the marker's other lines

# sh [files=NAME] [tree] [long]: "$ command" lines, each followed by the
# output it must print (stdout and stderr), run in the session; without
# "$" lines each line is a command that must succeed.  files=NAME copies
# tests/guide/files/NAME in for this block only; tree runs in a copy of
# the tree's plugins/ and data/; long lets a command run until it is
# stopped after 2 seconds (tail -f).
run_sh() {  # N LINE OPTIONS
  dir=$s
  if [ -n "$(opt tree "$3")" ]; then
    dir=$w/tree$1; mkdir -p "$dir"; cp -R "$top/plugins" "$top/data" "$dir"
  fi
  files=$(opt files "$3")
  : >"$w/added"
  if [ -n "$files" ]; then
    (cd "$cases/files/$files" && find . -mindepth 1) | while read -r f; do
      [ -e "$dir/$f" ] || echo "$f" >>"$w/added"
    done
    cp -R "$cases/files/$files/." "$dir"
  fi
  t=$w/sh$1; mkdir -p "$t"
  awk -v t="$t" '
    /^\$ / { k++; print substr($0, 3) >(t "/" k ".cmd"); close(t "/" k ".cmd")
             printf "" >(t "/" k ".want"); next }
    k { print >>(t "/" k ".want") }' "$w/blocks/$1.body"
  if [ -f "$t/1.cmd" ]; then
    k=1
    while [ -f "$t/$k.cmd" ]; do
      (cd "$dir" && sh -c "$(cat "$t/$k.cmd")") >"$t/$k.got" 2>&1
      check "guide line $2: \$ $(cat "$t/$k.cmd")" matches "$t/$k.want" "$t/$k.got"
      k=$((k + 1))
    done
  else
    sed 's/ *#.*//; /^$/d' "$w/blocks/$1.body" >"$t/cmds"
    while IFS= read -r cmd; do
      (cd "$dir" && timeout 2 sh -c "$cmd") >"$t/got" 2>&1 </dev/null
      rc=$?
      if [ $rc -eq 124 ] && [ -n "$(opt long "$3")" ]; then rc=0; fi
      [ $rc -eq 0 ] || cat "$t/got"
      check "guide line $2: $cmd" [ $rc -eq 0 ]
    done <"$t/cmds"
  fi
  while read -r f; do rm -rf "${dir:?}/$f"; done <"$w/added"
}

# plugin [then=NAME] [spec=NAME]: the block is the main file of a plugin
# whose plugin.yaml is "name: example", "version: 1.0.0" and the marker's
# other lines.  tests/guide/NAME.lua (then=) is appended to it, to check
# what the example's comments say; tests/guide/NAME_spec.lua (spec=), or a
# spec that loads it and expects no error, is its spec.  It must pass
# lplug check and lplug test.
run_plugin() {
  d=$w/plugin$1/example; mkdir -p "$d/spec"
  { printf 'name: example\nversion: 1.0.0\n'; prefix "$1"; } >"$d/plugin.yaml"
  cp "$w/blocks/$1.body" "$d/init.lua"
  then=$(opt then "$3"); spec=$(opt spec "$3")
  ok=0
  [ -z "$then" ] || cat "$cases/$then.lua" >>"$d/init.lua" || ok=1
  if [ -n "$spec" ]; then
    cp "$cases/${spec}_spec.lua" "$d/spec/init_spec.lua" || ok=1
  else
    cat >"$d/spec/init_spec.lua" <<'LUA'
local test = require "lplug.test"
it("loads", function()
  local h <close> = test.load()
  assert.equals("active", h:state())
  assert.same({}, h:errors())
end)
LUA
  fi
  [ $ok -eq 0 ] && lplug check "$d" >"$d.out" 2>&1 &&
    lplug test "$d" >>"$d.out" 2>&1 && tail -n 1 "$d.out" | grep -q "^[1-9][0-9]* passed, 0 failed$"
  rc=$?
  [ $rc -eq 0 ] || cat "$d.out"
  check "guide line $2: lua example runs as a plugin" [ $rc -eq 0 ]
}

# manifest DIR [with-settings]: the marker's other lines and the block are
# DIR/plugin.yaml in the session (with an empty init.lua unless there is
# one); it must pass lplug check, or with with-settings, lplug check
# --config with the settings block that comes next.
pending=
run_manifest() {
  d=$s/$(echo "$3" | cut -d' ' -f1)
  mkdir -p "$d"
  { prefix "$1"; cat "$w/blocks/$1.body"; } >"$d/plugin.yaml"
  [ -f "$d/init.lua" ] || : >"$d/init.lua"
  if [ -n "$(opt with-settings "$3")" ]; then pending=$d; return; fi
  lplug check "$d" >"$d.out" 2>&1
  rc=$?
  [ $rc -eq 0 ] || cat "$d.out"
  check "guide line $2: manifest passes lplug check" [ $rc -eq 0 ]
}

# settings FILE [tree]: the marker's other lines and the block are FILE
# in the session (tree: in a copy of the tree's plugins/ and data/); lplug run --config FILE must take it (exit 0, no message about
# FILE) over an empty input, every plugin loading (no "lplug:" message).
run_settings() {
  f=$s/$(echo "$3" | cut -d' ' -f1)
  if [ -n "$(opt tree "$3")" ]; then
    f=$w/tree$1/$(echo "$3" | cut -d' ' -f1)
    mkdir -p "$w/tree$1"; cp -R "$top/plugins" "$top/data" "$w/tree$1"
  fi
  mkdir -p "$(dirname "$f")"
  { prefix "$1"; cat "$w/blocks/$1.body"; } >"$f"
  (cd "$(dirname "$f")" && lplug run --config "$(basename "$f")" </dev/null) >"$f.out" 2>&1
  rc=$?
  [ $rc -eq 0 ] && ! grep -q "^lplug:" "$f.out"
  ok=$?
  if [ -n "$pending" ]; then
    lplug check --config "$f" "$pending" >"$pending.out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || cat "$pending.out"
    check "guide line $2: the manifest before it passes lplug check --config" [ $rc -eq 0 ]
    pending=
  fi
  [ $ok -eq 0 ] || cat "$f.out"
  check "guide line $2: settings file loads with lplug run --config" [ $ok -eq 0 ]
}

# output CASE [numbers]: tests/guide/CASE/run, run in a copy of that
# folder, must print the block's lines ("..." stands for any text;
# numbers: any number for any number).  TOP is the top of the tree.  A line "# for: TEXT" (and "#"
# lines after it) shows the input: each TEXT must be in the case's files.
run_output() {
  name=$(echo "$3" | cut -d' ' -f1)
  c=$w/case-$name; cp -R "$cases/$name" "$c"
  grep '^#' "$w/blocks/$1.body" | sed 's/^# for: //; s/^# *//' >"$c.for"
  grep -v '^#' "$w/blocks/$1.body" >"$c.want"
  while IFS= read -r text; do
    grep -rqF -- "$text" "$c" || { echo "  not in tests/guide/$name: $text"; echo x >"$c.bad"; }
  done <"$c.for"
  (cd "$c" && TOP=$top sh ./run) >"$c.got" 2>&1
  check "guide line $2: messages as tests/guide/$name/run prints them" \
    matches "$c.want" "$c.got" "$(opt numbers "$3")"
  check "guide line $2: the input shown is the case's" [ ! -f "$c.bad" ]
}

n_blocks=0
while read -r n line lang; do
  n_blocks=$((n_blocks + 1))
  if [ ! -f "$w/blocks/$n.marker" ]; then
    check "guide line $line: the block has a <!-- test: ... --> marker" false
    continue
  fi
  kind=$(head -n 1 "$w/blocks/$n.marker" | cut -d' ' -f1)
  args=$(head -n 1 "$w/blocks/$n.marker" | cut -s -d' ' -f2-)
  case $kind in
    file) mkdir -p "$(dirname "$s/$args")"; cp "$w/blocks/$n.body" "$s/$args" ;;
    sh) run_sh "$n" "$line" "$args" ;;
    plugin) run_plugin "$n" "$line" "$args" ;;
    manifest) run_manifest "$n" "$line" "$args" ;;
    settings) run_settings "$n" "$line" "$args" ;;
    output) run_output "$n" "$line" "$args" ;;
    *) check "guide line $line: known marker kind '$kind'" false ;;
  esac
done <"$w/list"
check "the guide has examples ($n_blocks)" [ "$n_blocks" -gt 20 ]
done_testing
