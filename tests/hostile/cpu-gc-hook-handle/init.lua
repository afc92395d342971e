-- attack: a looping __gc put into the metatable of hook handles, so that a handle the engine makes later is finalized with hooks off
-- contained: the engine's metatables are hidden (__metatable): getmetatable gives a string
-- expect: run ERUNTIME table expected, got string
local hooks = require "lplug.hooks"

local handle
handle = hooks.on("attack", function(v)
  rawset(getmetatable(handle), "__gc", function() while true do end end)
  return "the metatable was reachable"
end)
