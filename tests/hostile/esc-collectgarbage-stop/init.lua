-- attack: collectgarbage("stop") to make collection never happen
-- contained: only collect, step, count and isrunning are allowed
-- expect: run ERUNTIME not allowed
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  collectgarbage("stop")
end)
