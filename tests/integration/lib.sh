# lib.sh -- tiny TAP-style helpers for the integration scripts.
# check NAME COMMAND...   runs COMMAND; "ok NAME" if it succeeds.
# Each script ends with `done_testing`, which exits non-zero on failure.
failures=0
check() {
  name=$1
  shift
  if "$@"; then
    echo "ok - $name"
  else
    echo "not ok - $name"
    failures=$((failures + 1))
  fi
}
done_testing() {
  [ "$failures" -eq 0 ]
}
