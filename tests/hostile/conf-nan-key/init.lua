-- attack: a table with a NaN key
-- contained: Lua refuses NaN keys
-- expect: run ERUNTIME NaN
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  t[0 / 0] = 1
  return t
end)
