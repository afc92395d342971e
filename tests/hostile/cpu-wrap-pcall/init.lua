-- attack: a wrapped coroutine looping, called in pcall for ever
-- contained: the wrap is killed, never resumed again; the caller stops next
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local f = coroutine.wrap(function() while true do end end)
  while true do pcall(f) end
end)
