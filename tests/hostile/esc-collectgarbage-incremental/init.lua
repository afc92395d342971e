-- attack: collectgarbage("incremental", ...) to retune the collector
-- contained: only collect, step, count and isrunning are allowed
-- expect: run ERUNTIME not allowed
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  collectgarbage("incremental", 1000, 1000)
end)
