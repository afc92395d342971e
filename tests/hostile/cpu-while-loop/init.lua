-- attack: a plain endless while loop in a handler
-- contained: the CPU limit stops the call
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  while true do end
end)
