-- attack: table.concat of strings adding up past the limit
-- contained: the buffer is refused past the limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("x"):rep(60000)
  return table.concat({ s, s, s, s, s })
end)
