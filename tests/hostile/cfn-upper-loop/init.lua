-- attack: string.upper of 20 KB in a loop
-- contained: charged by the bytes it copies
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("x"):rep(20000)
  while true do s:upper() end
end)
