#!/bin/sh
# The LuaJIT binding: its cdef against lplug.h, docs/luajit.md's examples
# and tests/lua/ffi_host.lua run with luajit on liblplug.so.
. tests/integration/lib.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

lua5.4 tests/lua/cdef_check.lua include/lplug.h bindings/luajit/lplug_ffi.lua

plain=$(plain_build)
export LPLUG_LIBRARY="$plain/liblplug.so.0"
export LUA_PATH="bindings/luajit/?.lua;;"

n=$(scripts/doc-blocks lua docs/luajit.md "$out")
check "docs/luajit.md has Lua examples" [ "$n" -gt 0 ]
i=1
while [ "$i" -le "$n" ]; do
  luajit "$out/$i.lua" >"$out/$i.stdout" 2>"$out/$i.stderr"
  check "luajit.md example $i runs" [ $? -eq 0 ]
  [ -s "$out/$i.stderr" ] && cat "$out/$i.stderr"
  if [ -f "$out/$i.out" ]; then
    check "luajit.md example $i prints its output block" \
      diff "$out/$i.out" "$out/$i.stdout"
  fi
  i=$((i + 1))
done

luajit tests/lua/ffi_host.lua
check "tests/lua/ffi_host.lua exits 0" [ $? -eq 0 ]
done_testing
