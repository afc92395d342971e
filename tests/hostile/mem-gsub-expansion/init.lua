-- attack: gsub doubling a string until memory runs out
-- contained: the allocator refuses past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("x"):rep(1000)
  while true do s = s:gsub("x", "xx") end
end)
