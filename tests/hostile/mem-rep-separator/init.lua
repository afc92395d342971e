-- attack: string.rep with a long separator
-- contained: the result is refused at allocation
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return string.rep("x", 1e6, ("y"):rep(100))
end)
