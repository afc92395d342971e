-- attack: a sort comparator sorting again
-- contained: Lua's C stack limit raises an ordinary error
-- expect: run ERUNTIME stack overflow
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local function cmp(a, b) table.sort({ 2, 1 }, cmp) return a < b end
  table.sort({ 2, 1 }, cmp)
end)
