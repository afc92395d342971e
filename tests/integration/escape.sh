#!/bin/sh
# Text a plugin, a spec or a plugin's file controls is printed escaped by
# every command (as `lplug run` does, run.sh): its newlines cannot forge
# a line of lplug's ("lplug: ...", "9 passed, 0 failed"), its escape
# sequences cannot recolor or clear the terminal.
. tests/integration/lib.sh
LPLUG=${BUILD:-build}/lplug
out=$(mktemp -d)
trap '[ -n "$KEEP" ] || rm -rf "$out"' EXIT
forged="\\nlplug: forged\\27[31m"   # Lua text: a newline, a line, ESC

# forge NAME EXTRA-YAML LUA: a plugin in $out/plugins/NAME.
forge() {
  mkdir -p "$out/plugins/$1"
  printf 'name: %s\nversion: 1.0.0\ncapabilities: { hooks: [record], log: {} }\n%s' \
    "$1" "$2" >"$out/plugins/$1/plugin.yaml"
  printf '%s\n' "$3" >"$out/plugins/$1/init.lua"
}

# clean FILE: no line of FILE is forged, and it holds no control byte
# but tab and newline (ESC included).
clean() {
  ! grep -q '^lplug: forged\|^9 passed' "$1" &&
    ! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$1"
}

forge order "" "require('lplug.hooks').on('record', function() end,
  { before = '$forged' })
require('lplug.log').warn('w$forged')"
forge boom "" "error('boom$forged', 0)"

"$LPLUG" hooks --plugins "$out/plugins" >"$out/hooks" 2>&1
check "hooks: before/after names, warnings and load errors are escaped" \
  clean "$out/hooks"
check "and still readable" sh -c "
  grep -qF 'before: \\nlplug: forged\\x1b[31m' '$out/hooks' &&
  grep -qF 'warning: order: w\\nlplug: forged\\x1b[31m' '$out/hooks' &&
  grep -qF 'boom\\nlplug: forged\\x1b[31m' '$out/hooks'"

"$LPLUG" stats --plugins "$out/plugins" >"$out/stats" 2>&1
check "stats: load errors are escaped" clean "$out/stats"
check "and still readable" \
  grep -qF 'boom\nlplug: forged\x1b[31m' "$out/stats"

# check: problems quote the plugin's code, its errors and its manifest.
forge quoted '"x\e[31m\nlplug: forged": 1
' 'x = "code\27[31m'  # does not compile: the error quotes it
"$LPLUG" check "$out/plugins" >"$out/check" 2>&1
check "check: problems quoting the plugin are escaped" clean "$out/check"
check "and still readable" sh -c "
  grep -qF 'boom\nlplug: forged\x1b[31m' '$out/check' &&
  grep -qF 'x\x1b[31m\nlplug: forged' '$out/check' &&
  grep -qF 'code\x1b[31m' '$out/check'"

# test: test names, failure messages, what specs print, specs that do
# not load; a forged total above all.
mkdir -p "$out/plugins/order/spec"
cat >"$out/plugins/order/spec/init_spec.lua" <<'LUA'
describe("d\27[31m", function()
  it("n\n9 passed, 0 failed", function()
    print("p\nlplug: forged\27[2J")
    assert(false, "m\n9 passed, 0 failed\27[31m")
  end)
end)
LUA
printf 'error("e\\nlplug: forged\\27[31m", 0)\n' \
  >"$out/plugins/order/spec/load_spec.lua"
"$LPLUG" test -v "$out/plugins/order" >"$out/test" 2>&1
check "test: names, messages, prints and load errors are escaped" \
  clean "$out/test"
check "and still readable" sh -c "
  grep -qF 'FAIL  d\x1b[31m n\n9 passed, 0 failed' '$out/test' &&
  grep -qF 'm\n9 passed, 0 failed\x1b[31m' '$out/test' &&
  grep -qF 'p\nlplug: forged\x1b[2J' '$out/test' &&
  grep -qF 'e\nlplug: forged\x1b[31m' '$out/test'"
check "and the total is the last line" \
  [ "$(tail -n 1 "$out/test")" = "0 passed, 2 failed" ]

done_testing
