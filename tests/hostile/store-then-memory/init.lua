-- attack: writes storage, then exhausts memory
-- contained: the call's writes are undone
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local storage = require "lplug.storage"
  storage.set("pwned", true)
  local t = {}
  for i = 1, 1e9 do t[i] = { i } end
end)
