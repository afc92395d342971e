-- attack: coroutine.yield straight out of the handler, across the host call
-- contained: Lua refuses to yield outside a coroutine
-- expect: run ERUNTIME outside a coroutine
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  coroutine.yield("escaped")
end)
