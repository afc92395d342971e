-- attack: writes storage, then loops
-- contained: the call's writes are undone
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local storage = require "lplug.storage"
  storage.set("pwned", true)
  while true do end
end)
