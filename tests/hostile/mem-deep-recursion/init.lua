-- attack: non-tail recursion until the Lua stack is huge
-- contained: the stack is memory: the allocator refuses past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local function f(n) return 1 + f(n + 1) end
  return f(1)
end)
