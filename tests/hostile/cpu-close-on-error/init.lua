-- attack: a looping __close handler run while an error unwinds
-- contained: __close runs under the budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local x <close> = setmetatable({}, { __close = function() while true do end end })
  error("unwind")
end)
