#!/bin/sh
# The lplug command as scripts and cron jobs run it: help asked for in
# any form, closed descriptors, '--' before operands, odd input, and
# signals that end a run.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# help of help: `help --help` was handed on as `--help --help`, which
# came back to help, for ever (a crash by stack overflow).
for args in "help --help" "help -h" "-h -h" "--help --help" "help --version"; do
  # shellcheck disable=SC2086
  "$LPLUG" $args >"$out/help" 2>&1
  check "'lplug $args' prints the usage (exit 0)" \
    sh -c "[ $? -eq 0 ] && grep -q '^usage: lplug COMMAND' '$out/help'"
done

done_testing
