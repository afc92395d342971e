-- attack: coroutines resuming coroutines without end (C stack)
-- contained: every coroutine is memory: the memory limit ends it before Lua's C stack limit (200 levels) would
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local function f() return coroutine.wrap(f)() end
  return f()
end)
