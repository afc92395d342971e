-- attack: table.concat over 1e15 elements read through a C __index (no Lua code runs)
-- contained: charged per element; the growing result hits the memory limit
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return table.concat(setmetatable({}, { __index = rawlen }), "", 1, 1e15)
end)
