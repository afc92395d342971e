-- attack: work spread over many short resumes
-- contained: each resume is charged a block up front
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local co = coroutine.wrap(function()
    while true do for i = 1, 50 do end coroutine.yield() end
  end)
  while true do co() end
end)
