-- attack: table.move({}, 1, 1e15, 2): moves nils for hours without allocating
-- contained: table.move charges every element
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  table.move({}, 1, 1e15, 2)
end)
