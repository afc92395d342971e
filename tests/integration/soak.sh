#!/bin/sh
# The short soak: 3000 records through 30 plugins with random failures,
# limits and reloads (tests/soak/soak.c; `make soak` runs it for longer).
# It asserts counts only: every record counted once by each plugin unless
# made to fail, every failure reported, storage read back the same, RSS
# growth bounded after the warm-up.
. tests/integration/lib.sh
BUILD=${BUILD:-build}
out=$("$BUILD/soak" --records 3000 2>&1)
status=$?
echo "$out"
check "soak: 3000 records, counts add up, storage consistent, RSS bounded" \
  test "$status" -eq 0
done_testing
