-- attack: loops in coroutines nested ten deep, each caller catching
-- contained: the budget is shared by every thread of the call
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local function spin(n)
    if n == 0 then while true do end end
    local co = coroutine.wrap(spin)
    while true do pcall(co, n - 1) end
  end
  spin(10)
end)
