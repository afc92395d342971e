-- attack: gmatch with a backtracking pattern
-- contained: our matcher charges its steps
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  for _ in string.gmatch(("a"):rep(400), ".-.-.-.-b") do end
end)
