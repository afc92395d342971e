-- attack: writes until the quota is full, ignoring refusals, then loops
-- contained: the quota refuses; the limit stops the call; nothing is kept
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local storage = require "lplug.storage"
  local i = 0
  while true do i = i + 1 pcall(storage.set, "k" .. i, ("v"):rep(1000)) end
end)
