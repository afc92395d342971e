-- attack: string.match with four greedy captures on 400 bytes
-- contained: our matcher charges its steps
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return string.match(("a"):rep(400), "(.*)(.*)(.*)(.*)b")
end)
