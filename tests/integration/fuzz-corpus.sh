#!/bin/sh
# Replays each fuzz target's corpus (tests/fuzz/corpus/<target>/: seeds
# and every input that once crashed) through the target built without
# libFuzzer (BUILD/fuzz/replay-<target>), so the targets keep building and
# every crash fixed stays fixed, under whichever compiler and sanitizer
# `make test` / `make asan` uses.
BUILD=${BUILD:-build}
n=0
failed=0
for dir in tests/fuzz/corpus/*/; do
  name=$(basename "$dir")
  n=$((n + 1))
  if out=$("$BUILD/fuzz/replay-$name" "$dir" 2>&1); then
    echo "ok $n - fuzz corpus $name replays clean (${out#replay: })"
  else
    echo "$out" | tail -n 20
    echo "not ok $n - fuzz corpus $name replays clean"
    failed=1
  fi
done
exit $failed
