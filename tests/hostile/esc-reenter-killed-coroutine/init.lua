-- attack: a coroutine killed by the limit in one call, resumed in the next
-- contained: the first call stops; a killed coroutine is never resumed
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  if KEPT then return coroutine.resume(KEPT) end
  KEPT = coroutine.create(function() while true do end end)
  coroutine.resume(KEPT)
end)
