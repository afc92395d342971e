-- attack: string.byte of 1000 values at a time, in a loop
-- contained: charged one instruction per value
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("x"):rep(1000)
  while true do s:byte(1, -1) end
end)
