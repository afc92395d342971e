-- attack: table.sort with a comparator that answers at random (stock Lua may read out of the array)
-- contained: our heapsort only touches 1..n: some order comes out
-- expect: run OK
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 200 do t[i] = i end
  local n = 0
  table.sort(t, function(a, b) n = n + 1 return n % 3 == 0 end)
  assert(#t == 200)
  return "sorted somehow"
end)
