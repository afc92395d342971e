-- attack: string.rep of 50 KB in a loop: few instructions, much copying
-- contained: string.rep is charged by the bytes it produces
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  while true do string.rep("x", 50000) end
end)
