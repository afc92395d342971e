-- attack: utf8.len of 50 KB in a loop
-- contained: charged by the bytes it scans
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("a"):rep(50000)
  while true do utf8.len(s) end
end)
