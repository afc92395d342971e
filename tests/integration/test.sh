#!/bin/sh
# `lplug test`: the example plugins' specs pass, the test host's module
# works as documented (spec-host/), and failing specs fail the way they
# should (spec-failing/): with names, file:line, budgets, exit status.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$LPLUG" test plugins >"$out/plugins" 2>&1
check "the example plugins' specs pass" [ $? -eq 0 ]
cat "$out/plugins"
check "and the last line is the total" \
  grep -q "^[1-9][0-9]* passed, 0 failed$" "$out/plugins"

"$LPLUG" test tests/integration/spec-host >"$out/host" 2>&1
check "lplug.test does what its spec says" [ $? -eq 0 ]
cat "$out/host"

"$LPLUG" test --instructions 1M tests/integration/spec-failing \
  >"$out/fail" 2>&1
check "failing specs exit 1" [ $? -eq 1 ]
check "the total counts each failure, a spec that does not load, and pending tests" \
  [ "$(tail -n 1 "$out/fail")" = "1 passed, 11 failed, 2 pending" ]
check "a folder's line says its pending tests" \
  grep -q "spec-failing/bad: 1 passed, 10 failed, 2 pending$" "$out/fail"
check "and one without pending tests keeps the plain line" \
  grep -q "spec-failing/broken: 0 passed, 1 failed$" "$out/fail"
check "an it without a function is listed as pending, not as a failure" \
  sh -c "grep -q '^  PEND  bad is not written yet$' '$out/fail' && ! grep -q 'FAIL  bad is not written yet' '$out/fail'"
check "a pending test runs no before_each" \
  sh -c "grep -q '^  PEND  pending runs no before_each$' '$out/fail' && ! grep -q 'before_each ran' '$out/fail'"
check "a failed assert names the test, file:line and both values" \
  sh -c "grep -A1 'FAIL  bad compares$' '$out/fail' | grep -q 'bad/spec/init_spec.lua:2: expected 1, got 2'"
check "tables are shown" grep -q 'expected the same as {a = 1}, got {a = "1"}' "$out/fail"
check "a test that loops is stopped by its instruction budget" \
  grep -q "bad/spec/init_spec.lua:5: instruction budget of 1000000 spent" "$out/fail"
check "host loads and calls are paid from the test's budget" \
  grep -q "bad/spec/init_spec.lua:11: instruction budget of 1000000 spent" "$out/fail"
check "a test that runs out of memory names its line, not the runner's" \
  grep -q "bad/spec/init_spec.lua:15: memory budget of 64 MB of the test host" "$out/fail"
check "an error raised in a test names its line" \
  grep -q "bad/spec/init_spec.lua:7: oops" "$out/fail"
check "an error object that is not a string says what it is, and where" \
  sh -c "grep -A1 'FAIL  bad raises a table$' '$out/fail' | grep -q '^ *bad/spec/init_spec.lua:8: error object is a table value: bad thing$'"
check "error() names the line that raised it" \
  sh -c "grep -A1 'FAIL  bad raises nothing$' '$out/fail' | grep -q '^ *bad/spec/init_spec.lua:18: error object is a nil value$'"
check "error({}) too" \
  sh -c "grep -A1 'FAIL  bad raises an empty table$' '$out/fail' | grep -q '^ *bad/spec/init_spec.lua:20: error object is a table value$'"
check "a spec that does not compile is an ERROR with its line" \
  grep -q "broken/spec/init_spec.lua:3: ')' expected" "$out/fail"
"$LPLUG" test --instructions 1M tests/integration/spec-failing >"$out/fail2" 2>&1
check "runs are deterministic" cmp -s "$out/fail" "$out/fail2"

"$LPLUG" test --instructions 1M tests/integration/spec-slow >"$out/slow" 2>&1
check "a test that takes long without spending its budget is stopped" \
  grep -q "slow/spec/init_spec.lua:7: time backstop of 5 s passed before the instruction budget of 1000000 was spent" "$out/slow"
check "and a test whose plugin takes that long is not (the plugin's time is its own)" \
  [ "$(tail -n 1 "$out/slow")" = "1 passed, 1 failed" ]

"$LPLUG" test -v plugins/redact | grep -q "^  ok    redact masks e-mail"
check "-v lists passing tests" [ $? -eq 0 ]
"$LPLUG" test >/dev/null 2>&1
check "no folder is bad usage (exit 2)" [ $? -eq 2 ]
"$LPLUG" test --help | grep -q "usage: lplug test"
check "test --help shows usage" [ $? -eq 0 ]
"$LPLUG" test "$out" >/dev/null 2>"$out/none"
check "a folder without plugins exits 1" [ $? -eq 1 ]
check "and says how to make one" grep -q "lplug new NAME" "$out/none"

done_testing
