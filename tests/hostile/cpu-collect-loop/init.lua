-- attack: full collections in a loop
-- contained: collections are charged by heap size
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local keep = {} for i = 1, 2000 do keep[i] = {} end
  while true do collectgarbage() end
end)
