-- attack: an xpcall whose message handler loops (Lua runs it where hooks are off)
-- contained: our xpcall runs the handler after unwinding, under the budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  xpcall(function() while true do end end, function() while true do end end)
end)
