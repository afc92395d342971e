-- attack: returning a coroutine to the host
-- contained: threads are refused
-- expect: run EVALUE thread
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return coroutine.create(print)
end)
