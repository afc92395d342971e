-- attack: debug.sethook to remove the count hook
-- contained: debug does not exist
-- expect: run ERUNTIME global 'debug'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  debug.sethook()
  while true do end
end)
