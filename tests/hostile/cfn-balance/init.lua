-- attack: %b() on 30 KB of unbalanced parentheses: a scan to the end from every position
-- contained: our matcher charges every character %b scans
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return string.find(("("):rep(30000), "%b()")
end)
