-- The LuaJIT wrapper (bindings/luajit/lplug_ffi.lua): copies, errors,
-- callbacks and limits.  Prints one "ok - name" or "not ok - name" line
-- per check.
local lplug = require "lplug_ffi"
local failed = 0
local function check(name, cond)
  print((cond and "ok - " or "not ok - ") .. "luajit: " .. name)
  if not cond then failed = failed + 1 end
end

check("the library's version", lplug.version == "0.1.0" and lplug.version_number == 100)

local heard = {}
local e = assert(lplug.new { grant = "declared",
  on_error = function(plugin, code) heard[#heard + 1] = plugin .. ":" .. code end })
assert(e:define("request"))
assert(e:load_dirs { "examples/embed/plugins", "examples/embed/misbehaving" })
local input = { method = "GET", path = "/admin", ip = "192.0.2.1",
                s = "a\0b", f = 0.25, n = { 1, { deep = true } } }
local out = e:run("request", input)
check("the result is a copy, the input untouched",
      out ~= input and out.blocked ~= nil and input.blocked == nil)
check("strings with NUL bytes, floats and nested tables cross",
      out.s == "a\0b" and out.f == 0.25 and out.n[2].deep == true)
check("deny-paths stopped the chain before spin", #heard == 0)
local r, err = e:run("request", { method = "GET", path = "/", ip = "192.0.2.5" })
check("fail-open: the spinning plugin is reported and skipped",
      r ~= nil and err == nil and r.blocked == nil and heard[1] == "spin:ECPU")
check("stats count it", e:stats("spin").cpu_errors == 1)

local cycle = {}
cycle[1] = cycle
local ok, msg = pcall(e.run, e, "request", cycle)
check("a cycle raises", not ok and msg:find("too deep", 1, true) ~= nil)

local got
local id = e:subscribe("t.*", function(topic, payload, source)
  got = topic .. ":" .. payload.x .. ":" .. tostring(source)
end)
e:dispatch()
assert(e:emit("t.a", { x = "y" }))
e:dispatch()
check("host subscribers get a copy, source nil for the host", got == "t.a:y:nil")
check("unsubscribe", e:unsubscribe(id) == true and select(3, e:unsubscribe(id)) == "ENOTFOUND")

e:subscribe("boom", function() error("subscriber failed") end)
assert(e:emit("boom", nil))
ok, msg = pcall(e.dispatch, e)
check("a callback's error is raised by the engine call",
      not ok and msg:find("subscriber failed", 1, true) ~= nil)
check("unknown plugins are ENOTFOUND", select(3, e:state("nobody")) == "ENOTFOUND")
e:close()
check("a closed engine raises", not pcall(e.plugins, e))

local g = assert(lplug.new { grant = function(plugin, cap) return cap ~= "hooks" end })
assert(g:define("request"))
local _, m = g:load("examples/embed/plugins/block-bots")
check("a grant function refusing hooks fails the load",
      m ~= nil and m:find("does not grant capability 'hooks'", 1, true) ~= nil)
g:close()

for _ = 1, 3 do lplug.new { grant = "declared" }:define("x") end
collectgarbage()
check("engines are collected", true)

-- LuaJIT has room for 896 C callbacks in the whole process: engines and
-- subscriptions share a few of them, so that a host may make many of
-- either (an engine left to the collector once held five until it ran).
local made, why = pcall(function()
  local function none() end
  for _ = 1, 1000 do
    local x = assert(lplug.new { on_error = none, on_log = none,
                                 on_state = none, grant = none })
    x:subscribe("t", none)
  end
end)
collectgarbage()
check("1000 engines with callbacks, none collected meanwhile", made)
if not made then print("# " .. why) end
do
  local x, calls = assert(lplug.new()), 0
  made, why = pcall(function()
    for _ = 1, 1000 do x:subscribe("t", function() calls = calls + 1 end) end
  end)
  assert(x:emit("t"))
  x:dispatch()
  check("1000 subscriptions to one engine, each called", made and calls == 1000)
  if not made then print("# " .. why) end
  x:close()
end

-- on_log, on_state and hooks(), as in the Lua 5.4 module.
do
  local logs, states = {}, {}
  local h = assert(lplug.new { grant = "declared",
    on_log = function(level, plugin, m) logs[#logs + 1] = level end,
    on_state = function(plugin, from, to) states[#states + 1] = plugin .. ":" .. to end })
  assert(h:define("request"))
  assert(h:load("examples/embed/plugins/block-bots"))
  check("on_state hears a load", states[#states] == "block-bots:active")
  check("hooks() counts each hook point's handlers", h:hooks().request == 1)
  h:close()
end

-- Closing from a callback is refused; misuse raises cleanly.
do
  local c = assert(lplug.new())
  c:subscribe("t", function() c:close() end)
  assert(c:emit("t", {}))
  local okc, m = pcall(c.dispatch, c)
  check("close from a subscriber raises once the dispatch returns",
        not okc and m:find("from inside its own callbacks", 1, true) ~= nil)
  check("and the engine is still open", c:pending() == 0)
  check("subscribe wants a function", not pcall(c.subscribe, c, "t", nil))
  check("stats wants a name", not pcall(c.stats, c, nil))
  check("load_dirs wants a folder", not pcall(c.load_dirs, c))
  check("an open engine names itself as the Lua 5.4 module's does",
        tostring(c):match("^lplug engine %(0x%x+%)$") ~= nil)
  c:close()
  check("and a closed one says so", tostring(c) == "lplug engine (closed)")
end

-- Options are checked as the Lua 5.4 module checks them, with its words:
-- memory_limit = -1 once meant no limit at all.
for _, case in ipairs(dofile("tests/lua/new_options.lua")) do
  local okn, m = pcall(lplug.new, case[1])
  check("new raises " .. case[2], not okn and m == case[2])
end
do
  local okn, m = pcall(function() local n = lplug.new { memory_limit = -1 }; return n end)
  check("an option's error points at the caller of new",
        not okn and m:find("^tests/lua/ffi_host%.lua:%d+: bad option") ~= nil)
  local n = assert(lplug.new { grant = "declared", memory_limit = "8388608",
                                instruction_limit = 3e6 })
  assert(n:define("record"))
  assert(n:load("plugins/number"))   -- asks for no limits of its own
  local st = n:stats("number")
  check("whole numbers and numeric strings are taken, as in Lua 5.4",
        st.memory_limit == 8388608 and st.instruction_limit == 3e6)
  n:close()
end

-- Misuse raises before the engine is entered: the engine can still be
-- closed afterwards (it once stayed marked as running its callbacks).
for _, misuse in ipairs {
  { "unload", nil }, { "reload", {} }, { "enable", true }, { "load", {} },
  { "run", {} }, { "dispatch", "x" }, { "dispatch", -1 }, { "dispatch", 0.5 },
  { "define", print }, { "unsubscribe", "x" }, { "load_dirs", nil },
} do
  local method, arg = misuse[1], misuse[2]
  local x = assert(lplug.new { grant = "declared" })
  local okm, m = pcall(function() local r = x[method](x, arg); return r end)
  local shown = type(arg) == "table" and "{}" or type(arg) == "function" and
                "print" or tostring(arg)
  check(("e:%s(%s) raises at its caller"):format(method, shown),
        not okm and m:find("^tests/lua/ffi_host%.lua:%d+: bad argument #1 to '" ..
                           method .. "'") ~= nil)
  check("and the engine closes after it", pcall(x.close, x))
end
do
  local x = assert(lplug.new { grant = "declared" })
  local okm, m = pcall(function() local r = x:run("request", print); return r end)
  check("a value that cannot cross raises at the caller of run",
        not okm and m:find("^tests/lua/ffi_host%.lua:%d+: a function cannot cross") ~= nil)
  check("and the engine closes after it", pcall(x.close, x))
  okm, m = pcall(function() local r = x:load("examples/embed/plugins/block-bots"); return r end)
  check("a closed engine raises at the caller",
        not okm and m:find("^tests/lua/ffi_host%.lua:%d+: attempt to use a closed") ~= nil)
end
do
  local x = assert(lplug.new { grant = "declared" })
  check("a number is taken as a name, as luaL_checkstring takes it",
        select(2, x:run(5, 1)) == "no hook point named '5'")
  check("an unknown subscription id is ENOTFOUND, even past the C int",
        select(3, x:unsubscribe(2^40)) == "ENOTFOUND")
  x:close()
end
dofile("tests/lua/both_hosts.lua")(lplug, check)

os.exit(failed == 0 and 0 or 1)
