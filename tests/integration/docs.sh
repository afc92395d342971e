#!/bin/sh
# docs/embedding.md: every ```c block is compiled warning-free against
# the build, run from the top of the tree, and its output compared with
# the ```output block after it.
. tests/integration/lib.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

n=$(scripts/doc-blocks c docs/embedding.md "$out")
check "docs/embedding.md has C examples" [ "$n" -gt 0 ]
i=1
while [ "$i" -le "$n" ]; do
  # shellcheck disable=SC2086
  if $LPLUG_CC $LPLUG_CFLAGS -o "$out/$i" "$out/$i.c" $LPLUG_LIBS 2>"$out/$i.err"; then
    check "embedding.md example $i compiles" true
    "$out/$i" >"$out/$i.stdout" 2>"$out/$i.stderr"
    check "embedding.md example $i exits 0" [ $? -eq 0 ]
    if [ -f "$out/$i.out" ]; then
      check "embedding.md example $i prints its output block" \
        diff "$out/$i.out" "$out/$i.stdout"
    fi
  else
    cat "$out/$i.err"
    check "embedding.md example $i compiles" false
  fi
  i=$((i + 1))
done
done_testing
