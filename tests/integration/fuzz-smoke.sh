#!/bin/sh
# A short run of every libFuzzer target (make fuzz, FUZZ_SECONDS=2): new
# inputs, not only the corpus that fuzz-corpus.sh replays.  Needs clang,
# which make fuzz installs; the plain build only (the fuzzers bring their
# own ASan, and valgrind cannot run them).
. tests/integration/lib.sh
if [ -n "$LPLUG_SAN" ] || [ -n "$RUNNER" ]; then
  echo "# fuzz smoke: plain build only"
  exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory fuzz \
  FUZZ_SECONDS=2 >"$out" 2>&1
status=$?
for name in hostconfig json manifest plugin value; do
  check "fuzz target $name runs 2 s without a crash, leak or hang" \
    grep -q "^fuzz: $name #[0-9]*.*DONE" "$out"
done
check "make fuzz exits 0" [ $status -eq 0 ]
[ $status -eq 0 ] || tail -n 60 "$out"
done_testing
