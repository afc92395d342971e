#!/bin/sh
# The lplug command as scripts and cron jobs run it: help asked for in
# any form, closed descriptors, '--' before operands, odd input, and
# signals that end a run.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
case $LPLUG in /*) lplug_abs=$LPLUG ;; *) lplug_abs=$(pwd)/$LPLUG ;; esac
trap 'exec 5>&-; [ -z "$pid" ] || kill $pid 2>/dev/null; rm -rf "$out"' EXIT

# help of help: `help --help` was handed on as `--help --help`, which
# came back to help, for ever (a crash by stack overflow).
for args in "help --help" "help -h" "-h -h" "--help --help" "help --version"; do
  # shellcheck disable=SC2086
  "$LPLUG" $args >"$out/help" 2>&1
  check "'lplug $args' prints the usage (exit 0)" \
    sh -c "[ $? -eq 0 ] && grep -q '^usage: lplug COMMAND' '$out/help'"
done

# A closed standard output is an output that cannot be written: exit 1,
# said on stderr (it was given /dev/null, and what was printed vanished
# with exit 0).
"$LPLUG" version >&- 2>"$out/closed.err"
check "version with standard output closed fails (exit 1)" [ $? -eq 1 ]
check "and says why" grep -q "cannot write the output: Bad file descriptor" \
  "$out/closed.err"
"$LPLUG" check plugins/redact >&- 2>/dev/null
check "check with standard output closed fails (exit 1)" [ $? -eq 1 ]
echo "mail bob@example.com" | "$LPLUG" run --plugins plugins/redact >&- \
  2>"$out/closed.err"
check "run with standard output closed fails (exit 1), saying why" \
  sh -c "[ $? -eq 1 ] && grep -q 'cannot write output' '$out/closed.err'"
"$LPLUG" run --plugins plugins/redact </dev/null >&- 2>/dev/null
check "a run that prints nothing may have its output closed (exit 0)" [ $? -eq 0 ]

# '--' ends the options of every command that takes operands, so that a
# script's `lplug check -- "$dir"` is safe whatever $dir starts with
# (run and new took it; check and test called it an unknown option).
"$LPLUG" new dashed --dir "$out/-plugins" >/dev/null
(cd "$out" && "$lplug_abs" check -- -plugins) >"$out/dd.check" 2>&1
check "check -- DIR: a folder may start with '-'" \
  sh -c "[ $? -eq 0 ] && grep -q '^-plugins/dashed: ok' '$out/dd.check'"
(cd "$out" && "$lplug_abs" test -- -plugins) >"$out/dd.test" 2>&1
check "test -- DIR: a folder may start with '-'" \
  sh -c "[ $? -eq 0 ] && grep -q '^-plugins/dashed: 2 passed, 0 failed' '$out/dd.test'"
"$LPLUG" check -q -- >/dev/null 2>&1
check "check with nothing after -- names no folder (exit 2)" [ $? -eq 2 ]

# --NAME=VALUE is --NAME VALUE, in every command (it was "unknown option
# '--config=...'", an option the command knew); only before '--', and
# not inside another option's value.
echo "mail bob@example.com" | "$LPLUG" run --plugins=plugins/redact \
  >"$out/eq.out" 2>"$out/eq.err"
check "run --plugins=DIR loads DIR" \
  sh -c "[ $? -eq 0 ] && [ \"\$(cat '$out/eq.out')\" = 'mail <email>' ]"
"$LPLUG" run --config="$out/missing.yaml" </dev/null >/dev/null \
  2>"$out/eq.err"
check "run --config=FILE reads FILE" \
  sh -c "[ $? -eq 1 ] && grep -q 'missing.yaml: cannot read' '$out/eq.err'"
"$LPLUG" new eq --dir="$out/eq-plugins" >/dev/null
check "new --dir=DIR makes the plugin in DIR" \
  [ -f "$out/eq-plugins/eq/plugin.yaml" ]
"$LPLUG" test --instructions=50M --memory=64MB "$out/eq-plugins" \
  >"$out/eq.test" 2>&1
check "test --instructions=N --memory=SIZE" \
  sh -c "[ $? -eq 0 ] && grep -q 'eq: 2 passed, 0 failed' '$out/eq.test'"
"$LPLUG" stats --plugins="$out/eq-plugins" >"$out/eq.stats" 2>&1
check "stats --plugins=DIR" \
  sh -c "[ $? -eq 0 ] && grep -q '^eq  *active' '$out/eq.stats'"
"$LPLUG" hooks --plugins="$out/eq-plugins" >"$out/eq.hooks" 2>&1
check "hooks --plugins=DIR" \
  sh -c "[ $? -eq 0 ] && grep -q 'eq' '$out/eq.hooks'"
"$LPLUG" run --dir=x </dev/null >/dev/null 2>"$out/eq.err"
check "an option the command does not take is named without its value" \
  sh -c "[ $? -eq 2 ] && grep -q \"unknown option '--dir'\" '$out/eq.err'"
(cd "$out" && "$lplug_abs" check -- --config=x) >"$out/eq.check" 2>&1
check "after '--', --NAME=VALUE is an operand" \
  grep -q "'--config=x'" "$out/eq.check"
(cd "$out" && "$lplug_abs" run --config --plugins=x </dev/null) \
  >/dev/null 2>"$out/eq.err"
check "an option's value is not split (a file named '--plugins=x')" \
  grep -q -- "--plugins=x: cannot read" "$out/eq.err"
# help and version take no option: their errors name the word given.
"$LPLUG" help --config=x >/dev/null 2>"$out/eq.err"
check "help --NAME=VALUE is no command (exit 2), named as given" \
  sh -c "[ $? -eq 2 ] && grep -q \"unknown command '--config=x'\" '$out/eq.err'"
"$LPLUG" version --plugins=x >/dev/null 2>"$out/eq.err"
check "version --NAME=VALUE is an argument (exit 2), named as given" \
  sh -c "[ $? -eq 2 ] && grep -q \"got '--plugins=x'\" '$out/eq.err'"

# `new` prints the commands to run next: pasted into a shell they work
# whatever the folder is called (a space or a quote made them two words).
(cd "$out" && "$lplug_abs" new quoted --dir "it's here" >"$out/next.out")
next=$(sed -n 's/^next: //p' "$out/next.out")
(cd "$out" && PATH="$(dirname "$lplug_abs"):$PATH" && eval "$next") \
  >"$out/next.run" 2>&1
check "new: its 'next:' line runs as printed, even for \"it's here\"" \
  sh -c "[ $? -eq 0 ] && grep -q 'quoted: 2 passed, 0 failed' '$out/next.run'"
# A folder starting with '-' was an option to check and test.
(cd "$out" && "$lplug_abs" new dashy --dir -here >"$out/next.out")
next=$(sed -n 's/^next: //p' "$out/next.out")
(cd "$out" && PATH="$(dirname "$lplug_abs"):$PATH" && eval "$next") \
  >"$out/next.run" 2>&1
check "new: its 'next:' line runs as printed for a folder '-here'" \
  sh -c "[ $? -eq 0 ] && grep -q 'dashy: 2 passed, 0 failed' '$out/next.run'"
# zsh expands a word starting with '=' (=ls is ls's path): quoted.
(cd "$out" && "$lplug_abs" new eqs --dir =here >"$out/next.out")
check "new: a folder starting with '=' is quoted in the 'next:' line" \
  grep -q "^next: lplug check '=here/eqs' && lplug test '=here/eqs'$" \
  "$out/next.out"

# --json: a last line of blanks without its newline, after a first read
# that filled the buffer, was scanned past the buffer's end (the blanks
# before it were stale bytes of that read).  Memcheck sees the read; a
# sanitized build (make asan) stops on it by itself.
{ printf '{}\n'; head -c 65533 /dev/zero | tr '\0' ' '; } >"$out/blank.json"
memcheck=
if [ -z "$LPLUG_SAN" ] && command -v valgrind >/dev/null 2>&1; then
  memcheck="valgrind -q --error-exitcode=99"
fi
mkdir "$out/none"
$memcheck "$LPLUG" run --json --plugins "$out/none" "$out/blank.json" \
  >"$out/blank.out" 2>"$out/blank.err"
check "--json: a last line of blanks is read within its buffer (exit 0)" \
  [ $? -eq 0 ]
check "and is said to be no JSON, the record before it printed" \
  sh -c "grep -q 'input line 2 is not JSON' '$out/blank.err' &&
    [ \"\$(cat '$out/blank.out')\" = '{}' ]"

# Waits (up to 10 s) until command "$@" succeeds.
wait_until() {
  i=0
  until "$@"; do
    i=$((i + 1))
    [ $i -gt 200 ] && return 1
    sleep 0.05
  done
}

# Storage batched by the settings file (storage: { batch: }): what the
# records counted is committed while the run waits for input, and a
# SIGTERM ends the run as the end of its input would, --stats printed,
# then lplug dies of it (exit 143).  The batch was lost, and --stats not
# printed, when a cron job's timeout or an operator stopped the run.
printf 'plugins: [%s/plugins/counter]\nstorage: { path: b.db, batch: 3600s }\ngrants: { counter: { hooks: [record], storage: {}, events: true } }\n' \
  "$PWD" >"$out/batch.yaml"
stored() {  # the bytes counter holds in $out/b.db, as lplug stats says
  "$LPLUG" stats --plugins plugins/counter --storage "$out/b.db" --json \
    2>/dev/null | grep -q '"storage_bytes":[1-9]'
}
for watch in "" --watch; do
  rm -f "$out/b.db" "$out/b.db-wal" "$out/b.db-shm"
  rm -f "$out/in" && mkfifo "$out/in"
  "$LPLUG" run $watch --config "$out/batch.yaml" --stats <"$out/in" \
    >"$out/sig.out" 2>"$out/sig.err" &
  pid=$!
  exec 5>"$out/in"
  printf 't ERROR a\nt WARN b\n' >&5
  check "run $watch: a batch is committed while the run waits for input" \
    wait_until stored
  kill -TERM $pid
  wait $pid 2>/dev/null
  check "run $watch: SIGTERM ends the run with the signal's status (143)" \
    [ $? -eq 143 ]
  pid=
  exec 5>&-
  check "run $watch: the records before it were printed" \
    [ "$(cat "$out/sig.out")" = "$(printf 't ERROR a\nt WARN b')" ]
  check "run $watch: --stats is printed and the stop said" \
    sh -c "grep -q '^counter  *active' '$out/sig.err' &&
      grep -q 'stopped by SIGTERM after 2 records' '$out/sig.err'"
done

done_testing
