-- attack: a __close handler that loops, run when the block ends
-- contained: __close runs under the budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  do
    local x <close> = setmetatable({}, { __close = function() while true do end end })
  end
end)
