-- attack: a string doubled until memory runs out
-- contained: the allocator refuses past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = "x"
  while true do s = s .. s end
end)
