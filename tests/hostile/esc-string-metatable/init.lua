-- attack: reaching dump through the string metatable's __index
-- contained: it is the same table: dump is gone there too
-- expect: run ERUNTIME attempt to call a nil value
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local d = getmetatable("").__index.dump
  return d(print)
end)
