-- attack: string.format with hundreds of %99.99f items, retried in pcall
-- contained: string.format is charged by its format before it runs
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local f = ("%99.99f"):rep(200)
  while true do pcall(string.format, f) end
end)
