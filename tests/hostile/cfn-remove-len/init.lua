-- attack: table.remove at position 1 of a table whose __len says 1e15
-- contained: the shift charges every element
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  table.remove(setmetatable({}, { __len = function() return 1e15 end }), 1)
end)
