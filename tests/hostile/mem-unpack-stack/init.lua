-- attack: table.unpack of 900,000 values (a 14 MB stack)
-- contained: growing the stack is refused past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return table.unpack({}, 1, 900000)
end)
