-- attack: filling the heap to within a kilobyte of the limit, then making garbage forever, so that every other allocation is refused and Lua runs a full emergency collection for it
-- contained: each soft refusal is charged a heap's worth of instructions, as collectgarbage("collect") is, and one the budget cannot pay for is final, a memory stop (instruction mode); the deadline stops it in deadline mode
-- expect: run ECPU|EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local keep, n = nil, 0
  while collectgarbage("count") < 255 do
    n = n + 1
    keep = {keep, n}
  end
  while true do local s = ("g"):rep(200) .. n end
end)
