-- attack: a __concat metamethod concatenating itself again
-- contained: Lua's C stack limit raises an ordinary error
-- expect: run ERUNTIME stack overflow
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = setmetatable({}, {})
  getmetatable(t).__concat = function(a, b) return a .. b end
  return t .. "x"
end)
