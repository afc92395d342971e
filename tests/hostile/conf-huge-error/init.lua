-- attack: an error message of 100 KB
-- contained: the message is cut to the engine's buffer
-- expect: run ERUNTIME xxxxxxxx
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  error(("x"):rep(100000))
end)
