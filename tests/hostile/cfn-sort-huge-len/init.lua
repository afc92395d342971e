-- attack: table.sort of 2^31-2 elements made up by __len, read through a C __index (no Lua code runs)
-- contained: our heapsort charges every comparison
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  table.sort(setmetatable({}, { __len = function() return 2^31 - 2 end,
    __index = rawlen, __newindex = rawset }))
end)
