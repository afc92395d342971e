-- attack: allocating in pcall after each memory error (every refusal runs a full emergency collection)
-- contained: the first refusal is soft (Lua collects and asks again), the second is final: later growth is refused without asking and the hook raises at once
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local keep = {}
  while true do pcall(function() keep[#keep + 1] = ("y"):rep(4096) end) end
end)
