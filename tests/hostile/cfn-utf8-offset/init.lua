-- attack: utf8.offset far into 50 KB in a loop
-- contained: charged by the bytes it may scan
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("a"):rep(50000)
  while true do utf8.offset(s, 49000) end
end)
