-- attack: table.sort with a comparator that raises
-- contained: the error ends the call as an ordinary error
-- expect: run ERUNTIME comparator refused
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 100 do t[i] = -i end
  table.sort(t, function(a, b) error("comparator refused", 0) end)
end)
