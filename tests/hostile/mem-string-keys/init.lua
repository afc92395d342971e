-- attack: a table with ever more string keys
-- contained: the allocator refuses past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 1e9 do t["key" .. i] = true end
end)
