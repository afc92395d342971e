-- attack: table.concat of a 5000-element table with a 40 KB separator
-- contained: charged by the bytes it copies; the result is refused past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 5000 do t[i] = i end
  return table.concat(t, ("-"):rep(40000))
end)
