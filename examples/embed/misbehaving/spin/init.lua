-- A handler that never returns, and tries to swallow the stop with pcall:
-- the instruction budget ends the call all the same.
local hooks = require "lplug.hooks"

hooks.on("request", function(req)
  while true do pcall(function() while true do end end) end
end)
