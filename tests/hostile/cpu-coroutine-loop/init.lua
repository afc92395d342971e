-- attack: the loop hidden in a coroutine (hooks are per thread)
-- contained: every resume arms the coroutine's hook under the same budget
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local co = coroutine.create(function() while true do end end)
  while true do coroutine.resume(co) end
end)
