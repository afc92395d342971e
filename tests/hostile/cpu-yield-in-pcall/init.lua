-- attack: a coroutine yielding from inside pcall in a loop, resumed for ever
-- contained: the CPU limit stops the call
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local co = coroutine.wrap(function()
    while true do pcall(coroutine.yield) end
  end)
  while true do co() end
end)
