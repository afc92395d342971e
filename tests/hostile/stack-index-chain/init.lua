-- attack: an __index function indexing its own table (endless metamethod chain)
-- contained: Lua's C stack limit raises an ordinary error
-- expect: run ERUNTIME stack overflow
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = setmetatable({}, {})
  getmetatable(t).__index = function(self, k) return self[k] end
  return t.x
end)
