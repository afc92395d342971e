-- attack: a table whose __index function loops
-- contained: metamethods run under the budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = setmetatable({}, { __index = function() while true do end end })
  return t.anything
end)
