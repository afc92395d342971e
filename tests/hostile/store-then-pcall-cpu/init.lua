-- attack: writes storage, loops in pcall, and returns normally
-- contained: the limit cannot be caught; the writes are undone
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local storage = require "lplug.storage"
  storage.set("pwned", true)
  pcall(function() while true do end end)
  return "survived"
end)
