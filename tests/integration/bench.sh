#!/bin/sh
# The benchmark program cannot rot: at smoke-test sizes (--quick) it
# prints every case and writes a well-formed TSV, and every pair case runs
# each side alone (what make bench-ir runs under callgrind).  No timing is
# checked: figures come from make bench and make bench-ir.
. tests/integration/lib.sh
BENCH=${BUILD:-build}/bench/bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$BENCH" --list >"$out/list"
check "bench --list names the cases" [ -s "$out/list" ]

"$BENCH" --quick --tsv "$out/r.tsv" >"$out/table" 2>"$out/err"
check "bench --quick exits 0" [ $? -eq 0 ]
check "and prints nothing on stderr" [ ! -s "$out/err" ]

missing=""
for c in $(cut -f1 "$out/list") load_10k_mem deadline_worst; do
  grep -q "^$c " "$out/table" || missing="$missing $c"
  grep -q "^$c	" "$out/r.tsv" || missing="$missing $c(tsv)"
done
check "every case has a row in the table and the TSV${missing:+ (missing:$missing)}" \
  [ -z "$missing" ]

check "the TSV header is case unit lplug baseline ratio target met" \
  [ "$(head -1 "$out/r.tsv")" = "$(printf 'case\tunit\tlplug\tbaseline\tratio\ttarget\tmet')" ]
check "every TSV row has 7 fields, numbers where numbers go, met yes/no/n/a" \
  awk -F '\t' 'NR > 1 {
      if (NF != 7) exit 1
      for (i = 3; i <= 5; i++) if ($i !~ /^[0-9.e+-]+$/) exit 1
      if ($7 != "yes" && $7 != "no" && $7 != "n/a") exit 1
      rows++
    } END { exit rows > 0 ? 0 : 1 }' "$out/r.tsv"

failed=""
for c in $(awk -F '\t' '$2 == "pair" {print $1}' "$out/list"); do
  for side in lplug baseline; do
    "$BENCH" --quick --case "$c" --side "$side" --iterations 2 \
      >/dev/null 2>&1 || failed="$failed $c/$side"
  done
done
check "each side of every pair case runs alone (as under callgrind)${failed:+ (failed:$failed)}" \
  [ -z "$failed" ]

"$BENCH" --case no_such_case >/dev/null 2>"$out/nocase"
check "an unknown case exits 1 and says so" \
  grep -q "no case named 'no_such_case'" "$out/nocase"

done_testing
