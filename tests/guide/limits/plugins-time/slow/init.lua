-- slow: waits on the clock (os.clock is CPU time: this spins)
local hooks = require "lplug.hooks"
hooks.on("record", function(rec)
  local t = os.clock()
  while os.clock() - t < 1 do end
end)
