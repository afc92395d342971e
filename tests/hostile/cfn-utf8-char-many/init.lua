-- attack: utf8.char of 2000 code points in a loop
-- contained: table.unpack charges each value it pushes
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  for i = 1, 2000 do t[i] = 0x10FFFF end
  while true do utf8.char(table.unpack(t)) end
end)
