-- require "lplug" from a Lua 5.4 host: copies, errors, callbacks, limits.
-- Prints one "ok - name" or "not ok - name" line per check.
local lplug = require "lplug"
local failed = 0
local function check(name, cond)
  print((cond and "ok - " or "not ok - ") .. name)
  if not cond then failed = failed + 1 end
end

-- A plugin returning what it gets, written to a fresh folder.
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "/echo'"))
local function write(path, text)
  local f = assert(io.open(dir .. "/" .. path, "w"))
  f:write(text)
  f:close()
end
write("echo/plugin.yaml", "name: echo\nversion: 1.0.0\ncapabilities: { hooks: [echo] }\n")
write("echo/init.lua", [[
require("lplug.hooks").on("echo", function(v)
  if type(v) == "table" then v.seen = true end
  return v
end)]])

local e = assert(lplug.new { grant = "declared" })
assert(e:define("echo"))
check("load returns true", e:load(dir .. "/echo") == true)
check("loading it again is EEXIST", select(3, e:load(dir .. "/echo")) == "EEXIST")

local input = { s = "a\0b", i = 7, f = 1.5, t = true, nested = { 1, 2, { x = "y" } } }
local out = e:run("echo", input)
check("strings with NUL bytes cross", out.s == "a\0b")
check("integers stay integers", math.type(out.i) == "integer" and out.i == 7)
check("floats stay floats", math.type(out.f) == "float" and out.f == 1.5)
check("booleans and nested tables cross", out.t == true and out.nested[3].x == "y")
check("the result is a copy, the input untouched",
      out ~= input and out.seen == true and input.seen == nil)
check("scalars cross as well", e:run("echo", 42) == 42 and e:run("echo", "x") == "x")
local r, err = e:run("echo", nil)
check("a nil result is told from a failure by the second value", r == nil and err == nil)

local cycle = {}
cycle.self = cycle
local ok, msg = pcall(e.run, e, "echo", cycle)
check("a cycle raises", not ok and msg:find("too deep", 1, true) ~= nil)
ok, msg = pcall(e.run, e, "echo", { co = coroutine.create(print) })
check("a thread raises, naming its type", not ok and msg:find("a thread cannot cross", 1, true) ~= nil)
ok, msg = pcall(function() return e:run({}) end)
check("misuse raises a Lua argument error",
      not ok and msg:find("bad argument #1 to 'run' (string expected, got table)", 1, true) ~= nil)

-- Host subscribers, unsubscribe, host events.
local got = {}
local id = e:subscribe("t.*", function(topic, payload, source)
  got[#got + 1] = topic .. ":" .. tostring(payload.n) .. ":" .. tostring(source)
end)
e:dispatch()
got = {}
assert(e:emit("t.a", { n = 1 }))
check("dispatch returns the number delivered", e:dispatch() == 1)
check("subscribers get topic, a copy of the payload and a nil source",
      got[1] == "t.a:1:nil")
check("unsubscribe returns true", e:unsubscribe(id) == true)
assert(e:emit("t.b", { n = 2 }))
e:dispatch()
check("and the subscriber hears no more", #got == 1)
check("an unknown id is ENOTFOUND", select(3, e:unsubscribe(id)) == "ENOTFOUND")
check("a bad topic is EINVAL", select(3, e:emit("bad topic!", nil)) == "EINVAL")

-- A callback's error is raised once the engine call returns.
e:subscribe("boom", function() error("subscriber failed") end)
assert(e:emit("boom"))
ok, msg = pcall(e.dispatch, e)
check("a callback's error is raised by the engine call", not ok and msg:find("subscriber failed", 1, true) ~= nil)
check("and the engine goes on", e:run("echo", 1) == 1)
e:close()
ok, msg = pcall(e.run, e, "echo", 1)
check("a closed engine raises", not ok and msg:find("closed", 1, true) ~= nil)

-- Grants: a grant function refusing hooks makes the load fail.
local asked = {}
local g = assert(lplug.new { grant = function(plugin, cap)
  asked[#asked + 1] = plugin .. ":" .. cap
  return false
end })
assert(g:define("echo"))
local _, m, code = g:load(dir .. "/echo")
check("a refused capability fails the load, naming plugin and capability",
      code == "ERUNTIME" and
      m:find("does not grant capability 'hooks' to plugin 'echo'", 1, true) ~= nil)
check("the grant function was asked", asked[1] == "echo:hooks")
g:close()

-- Limits: the spin plugin is stopped; the error callback hears it.
local heard
do
  local s <close> = assert(lplug.new { grant = "declared",
    on_error = function(plugin, c) heard = plugin .. ":" .. c end })
  assert(s:define("request", { fail_closed = true }))
  assert(s:load_dirs { "examples/embed/misbehaving" })
  local _, _, c = s:run("request", {})
  check("a plugin over its CPU budget fails the run with ECPU", c == "ECPU")
  check("and on_error names plugin and code", heard == "spin:ECPU")
  check("stats count it", s:stats("spin").cpu_errors == 1)
end

-- Engines left to the collector are freed without error.
for _ = 1, 3 do lplug.new { grant = "declared" }:define("x") end
collectgarbage()
check("engines are collected", true)

os.execute("rm -rf '" .. dir .. "'")
os.exit(failed == 0 and 0 or 1)
