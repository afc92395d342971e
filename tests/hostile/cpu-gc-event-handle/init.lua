-- attack: a looping __gc put into the metatable of event handles, so that the next handle the engine makes is finalized with hooks off
-- contained: the engine's metatables are hidden (__metatable): getmetatable gives a string
-- expect: run ERUNTIME table expected, got string
local hooks = require "lplug.hooks"
local events = require "lplug.events"

hooks.on("attack", function(v)
  local mt = getmetatable(events.on("x.y", function() end))
  rawset(mt, "__gc", function() FINALIZED = true end)
  events.on("x.y", function() end):off()
  collectgarbage()
  collectgarbage()
  return FINALIZED and "a finalizer ran" or "no finalizer ran"
end)
