-- attack: pcall(error) retried for ever
-- contained: the CPU limit stops the call
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  while true do pcall(error, "again") end
end)
