-- attack: string.rep("", 2^62): Lua loops 2^62 times copying nothing
-- contained: an empty result is answered at once
-- expect: run OK
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  for i = 1, 100 do assert(string.rep("", math.maxinteger) == "") end
  return #string.rep("", 1e18, "")
end)
