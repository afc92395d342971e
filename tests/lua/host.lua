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

-- The storage path is the engine's own: the option's string may be
-- collected before the first storage plugin opens the database.
do
  assert(os.execute("mkdir -p '" .. dir .. "/keeper' '" .. dir .. "/bye'"))
  write("keeper/plugin.yaml", "name: keeper\nversion: 1.0.0\n" ..
        "capabilities: { hooks: [keep], storage: {} }\n")
  write("keeper/init.lua", [[
local storage = require "lplug.storage"
require("lplug.hooks").on("keep", function() return storage.incr("n") end)]])
  local k <close> = assert(lplug.new { grant = "declared",
    storage_path = dir .. "/" .. ("keep"):rep(2) .. ".db" })
  collectgarbage(); collectgarbage()
  for i = 1, 2000 do local _ = ("x"):rep(i % 50) .. i end
  collectgarbage()
  assert(k:define("keep"))
  assert(k:load(dir .. "/keeper"))
  check("storage works with a collected option string", k:run("keep") == 1)
  assert(k:flush())
  local f = io.open(dir .. "/keepkeep.db")
  check("and the database is where the option said", f ~= nil)
  if f then f:close() end
end
ok, msg = pcall(lplug.new, { storage_path = 42 })
check("a storage_path that is not a string raises",
      not ok and msg:find("'storage_path'", 1, true) ~= nil)
ok, msg = pcall(lplug.new, { event_queue = 2^40 // 1 })
check("an option out of range raises", not ok and msg:find("out of range", 1, true) ~= nil)
for _, case in ipairs(dofile("tests/lua/new_options.lua")) do
  ok, msg = pcall(lplug.new, case[1])
  check("new raises " .. case[2], not ok and msg == case[2])
end

-- A value that cannot cross, under a collector that runs all the time.
do
  local q <close> = assert(lplug.new())
  collectgarbage("incremental", 10, 1000, 0)
  local all = true
  for _ = 1, 2000 do
    local okk, m = pcall(q.emit, q, "t", { a = { print } })
    all = all and not okk and m:find("a function cannot cross", 1, true) ~= nil
  end
  collectgarbage("incremental", 200, 100, 0)
  check("a function nested in a value raises its message every time", all)
end

-- Closing an engine from its own callback is refused; it keeps working.
do
  local c = assert(lplug.new())
  c:subscribe("t", function() c:close() end)
  assert(c:emit("t", {}))
  local okk, m = pcall(c.dispatch, c)
  check("close from a subscriber raises once the dispatch returns",
        not okk and m:find("from inside its own callbacks", 1, true) ~= nil)
  check("and the engine is still open", c:pending() == 0)
  c:close()
  check("it closes afterwards", tostring(c) == "lplug engine (closed)")
end
do
  write("bye/plugin.yaml", "name: bye\nversion: 1.0.0\n")
  write("bye/init.lua", "return { shutdown = function() error('bye fails') end }\n")
  local c
  c = assert(lplug.new { on_error = function() c:close() end })
  assert(c:load(dir .. "/bye"))
  check("close from on_error while the engine closes does nothing more",
        pcall(c.close, c) == true)
  check("and the engine is closed", tostring(c) == "lplug engine (closed)")
end

-- Ids and counts are not truncated to C ints.
do
  local u <close> = assert(lplug.new())
  local sid = u:subscribe("t", function() end)
  local r1, _, c1 = u:unsubscribe(sid + 2^32 // 1)
  check("an id past 2^32 is no subscription", r1 == nil and c1 == "ENOTFOUND")
  check("the subscription stays", u:unsubscribe(sid) == true)
  check("dispatch refuses a negative count", not pcall(u.dispatch, u, -1))
end

-- Engines left to the collector are freed without error.
for _ = 1, 3 do lplug.new { grant = "declared" }:define("x") end
collectgarbage()
check("engines are collected", true)

dofile("tests/lua/both_hosts.lua")(lplug, check)

os.execute("rm -rf '" .. dir .. "'")
os.exit(failed == 0 and 0 or 1)
