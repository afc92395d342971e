-- attack: writes storage, then raises
-- contained: the call's writes are undone
-- expect: run ERUNTIME after writing
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local storage = require "lplug.storage"
  storage.set("pwned", ("x"):rep(100))
  error("after writing", 0)
end)
