-- attack: integer keys spread far apart (hash part only)
-- contained: the allocator refuses past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 1e9 do t[i * 4096] = i end
end)
