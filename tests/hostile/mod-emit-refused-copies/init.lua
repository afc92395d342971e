-- attack: emit a payload of 70 references to one long string in a pcall loop: each is copied up to the value limit, then refused
-- contained: the copying is charged to the call's budget whether the payload is taken or refused
-- expect: run ECPU
local hooks = require "lplug.hooks"
local events = require "lplug.events"
hooks.on("attack", function(v)
  local s, t = ("x"):rep(60000), {}
  for i = 1, 70 do t[i] = s end
  while true do pcall(events.emit, "x", t) end
end)
