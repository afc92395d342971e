-- attack: string.format("%99d") results kept until memory runs out
-- contained: the allocator refuses past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 1e9 do t[i] = string.format("%99d", i) end
end)
