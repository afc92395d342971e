-- attack: %f with a 100 KB set on a short subject (steps under one batch are never charged)
-- contained: a set is charged by its length each time it is scanned, and what a call leaves of its last batch is charged when it returns
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local p = "%f[" .. ("a"):rep(100000) .. "]b"
  local s = ("b"):rep(1000)
  while true do s:find(p) end
end)
