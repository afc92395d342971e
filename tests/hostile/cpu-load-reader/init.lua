-- attack: load with a reader function that loops
-- contained: the reader runs under the budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  load(function() while true do end end)
end)
