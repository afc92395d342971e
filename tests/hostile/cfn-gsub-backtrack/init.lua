-- attack: gsub with a backtracking pattern
-- contained: our matcher charges its steps
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return (string.gsub(("a"):rep(400), ".-.-.-.-b", ""))
end)
