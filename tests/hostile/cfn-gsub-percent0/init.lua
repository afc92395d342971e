-- attack: gsub replacement of many %0 on a long match (copies not charged)
-- contained: each %0 and %n is charged by the bytes it copies
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("x"):rep(1000)
  local r = ("%0"):rep(40)
  while true do s:gsub(".+", r) end
end)
