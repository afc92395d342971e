-- attack: string.pack with a long format in a loop
-- contained: charged by its format before it runs
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local f = ("i16"):rep(1000)
  local args = {}
  for i = 1, 1000 do args[i] = i end
  while true do string.pack(f, table.unpack(args)) end
end)
