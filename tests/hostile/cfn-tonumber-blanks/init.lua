-- attack: tonumber of 50 KB of blanks in a loop
-- contained: charged by the bytes it scans
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = (" "):rep(50000) .. "1"
  while true do tonumber(s) end
end)
