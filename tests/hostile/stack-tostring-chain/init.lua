-- attack: a __tostring calling tostring on itself
-- contained: Lua's C stack limit raises an ordinary error
-- expect: run ERUNTIME stack overflow
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = setmetatable({}, {})
  getmetatable(t).__tostring = function(self) return tostring(self) end
  return tostring(t)
end)
