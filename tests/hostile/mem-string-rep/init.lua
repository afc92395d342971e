-- attack: string.rep of a gigabyte
-- contained: the result is refused at allocation, before any copy
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return string.rep("x", 1e9)
end)
