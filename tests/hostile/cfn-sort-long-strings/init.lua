-- attack: table.sort of 1000 references to one 100 KB string (each comparison a 100 KB strcoll), in a loop
-- contained: comparisons of strings are charged by their length
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("s"):rep(100000)
  local t = {}
  for i = 1, 1000 do t[i] = s end
  while true do table.sort(t) end
end)
