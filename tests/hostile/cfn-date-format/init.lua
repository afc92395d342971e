-- attack: os.date with a 3 KB format in a loop
-- contained: charged by its format before it runs
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local f = ("%c"):rep(1500)
  while true do os.date(f) end
end)
