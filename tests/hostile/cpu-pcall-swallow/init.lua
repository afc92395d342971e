-- attack: an endless loop inside pcall, itself in an endless loop, hoping pcall catches the limit error
-- contained: the stop is raised again on every instruction until the call is back in the engine
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  while true do pcall(function() while true do end end) end
end)
