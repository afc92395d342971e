#!/bin/sh
# The LuaRocks module: `luarocks make` builds and installs it offline into
# a temporary tree; docs/lua-host.md's examples and tests/lua/host.lua
# run against it with lua5.4.
. tests/integration/lib.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tree="$out/tree"

# A fresh make, not this one's flags: a user's luarocks runs plain make.
(plain_env; HOME="$out/home" \
  luarocks --lua-version 5.4 --tree "$tree" make lplug-scm-1.rockspec) \
  >"$out/make.log" 2>&1
status=$?
check "luarocks make builds and installs the rock" [ $status -eq 0 ]
[ $status -eq 0 ] || cat "$out/make.log"
check "the module is installed in the tree" [ -f "$tree/lib/lua/5.4/lplug.so" ]

run_lua() {
  LUA_CPATH="$tree/lib/lua/5.4/?.so" LUA_PATH="./?.lua" lua5.4 "$@"
}
check "require 'lplug' reports the library's version" \
  [ "$(run_lua -e 'print(require("lplug").version)')" = 0.1.0 ]

n=$(scripts/doc-blocks lua docs/lua-host.md "$out/doc")
check "docs/lua-host.md has Lua examples" [ "$n" -gt 0 ]
i=1
while [ "$i" -le "$n" ]; do
  run_lua "$out/doc/$i.lua" >"$out/doc/$i.stdout" 2>"$out/doc/$i.stderr"
  check "lua-host.md example $i runs" [ $? -eq 0 ]
  [ -s "$out/doc/$i.stderr" ] && cat "$out/doc/$i.stderr"
  if [ -f "$out/doc/$i.out" ]; then
    check "lua-host.md example $i prints its output block" \
      diff "$out/doc/$i.out" "$out/doc/$i.stdout"
  fi
  i=$((i + 1))
done

run_lua tests/lua/host.lua
check "tests/lua/host.lua exits 0" [ $? -eq 0 ]

# lua_close unloads the module: memcheck then sees anything the engine
# kept past its engines (the cache of compiled plugin code once stayed).
run_lua_valgrind() {
  LUA_CPATH="$tree/lib/lua/5.4/?.so" valgrind -q --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite,indirect lua5.4 "$@"
}
run_lua_valgrind tests/lua/unload.lua >"$out/unload.log" 2>&1
status=$?
check "the module leaves nothing unreachable once unloaded" [ $status -eq 0 ]
[ $status -eq 0 ] || cat "$out/unload.log"
done_testing
