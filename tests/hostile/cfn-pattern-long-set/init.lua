-- attack: a pattern that is one 100 KB set: every position scans the whole set, counted as one step; under 1024 steps a call is never charged
-- contained: a set is charged by its length each time it is scanned, and what a call leaves of its last batch is charged when it returns
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local p = "[" .. ("a"):rep(100000) .. "]"
  local s = ("b"):rep(1000)
  while true do s:find(p) end
end)
