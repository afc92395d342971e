-- attack: an endless loop written with goto
-- contained: the CPU limit stops the call
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  ::top:: goto top
end)
