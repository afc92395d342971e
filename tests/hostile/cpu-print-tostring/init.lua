-- attack: print of a value whose __tostring loops
-- contained: print runs __tostring under the budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  print(setmetatable({}, { __tostring = function() while true do end end }))
end)
