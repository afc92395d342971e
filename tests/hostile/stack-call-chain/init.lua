-- attack: a table whose __call is itself (5.4 has no depth limit on __call chains)
-- contained: each level grows the stack, which is memory: the memory limit ends it
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = setmetatable({}, {})
  getmetatable(t).__call = t
  return t()
end)
