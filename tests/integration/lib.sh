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

# How tests compile C against the library: `make check` passes the
# build's own compiler and flags (sanitizers included); run by hand, the
# defaults below use build/.
LPLUG_CC=${LPLUG_CC:-cc}
LPLUG_CFLAGS=${LPLUG_CFLAGS:-"-std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude"}
LPLUG_LIBS=${LPLUG_LIBS:-"${BUILD:-build}/liblplug.a $(pkg-config --libs lua5.4 yaml-0.1 sqlite3) -lm -pthread"}

# plain_build: prints a build folder whose liblplug.so carries no
# sanitizer, building build/plain when BUILD has one (`make asan`).  A
# sanitized library cannot be loaded by lua5.4, luajit or a program
# linked without the sanitizer.
plain_build() {
  if [ -z "$LPLUG_SAN" ]; then
    echo "${BUILD:-build}"
    return
  fi
  (plain_env; make -s -j2 BUILD=build/plain build >&2) && echo build/plain
}

# plain_env: forget the settings of the make running the tests (make
# exports its command-line variables, SAN included), so that a make run
# from here builds what a user's make would.
plain_env() {
  unset MAKEFLAGS MFLAGS MAKELEVEL BUILD SAN OPT RUNNER CFLAGS
}
