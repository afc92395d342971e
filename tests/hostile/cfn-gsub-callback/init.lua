-- attack: a gsub callback that loops
-- contained: callbacks are Lua code under the budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return (string.gsub(("x"):rep(100), ".", function() while true do end end))
end)
