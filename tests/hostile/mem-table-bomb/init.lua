-- attack: tables of tables until memory runs out
-- contained: the allocator refuses past the limit; the call ends with the memory error
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 1e9 do t[i] = { i } end
end)
