-- attack: endless tail recursion (no stack growth)
-- contained: the CPU limit stops the call
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local function f(n) return f(n + 1) end
  return f(1)
end)
