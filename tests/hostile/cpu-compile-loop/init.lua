-- attack: compiling a big chunk over and over
-- contained: load is charged by source size
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local src = ("x = 1 "):rep(1000)
  while true do load(src) end
end)
