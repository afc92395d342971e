-- attack: a coroutine killed by the limit, whose looping __close handler a wrap would run with hooks off
-- contained: a coroutine killed by a limit is never closed
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local f = coroutine.wrap(function()
    local x <close> = setmetatable({}, { __close = function() while true do end end })
    while true do end
  end)
  f()
end)
