-- attack: table.sort with a comparator that loops
-- contained: the comparator runs under the budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 100 do t[i] = -i end
  table.sort(t, function(a, b) while true do end end)
end)
