-- attack: an endless repeat-until loop doing arithmetic
-- contained: the CPU limit stops the call
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local x = 0
  repeat x = x + 1 until false
end)
