-- attack: a numeric for loop to math.maxinteger
-- contained: the CPU limit stops the call
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  for i = 1, math.maxinteger do end
end)
