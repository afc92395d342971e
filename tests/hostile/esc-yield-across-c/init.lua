-- attack: a yield from a sort comparator inside a coroutine (across a C call)
-- contained: Lua refuses to yield across a C call
-- expect: run ERUNTIME yield across
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local co = coroutine.wrap(function() table.sort({ 2, 1 }, function() coroutine.yield() return true end) end)
  co()
end)
