-- attack: __gc rawset into a metatable after setmetatable, then a full collection
-- contained: Lua only finalizes objects whose metatable had __gc when it was set: the loop never runs
-- expect: run OK
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local mt = {}
  local t = setmetatable({}, mt)
  rawset(mt, "__gc", function() while true do end end)
  t = nil
  collectgarbage()
  collectgarbage()
  return "finalizer never ran"
end)
