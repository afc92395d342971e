-- attack: holding seven eighths of the limit, asking for a full collection (which fits the collector's pause to the heap) and then making garbage in a loop, so that the collector runs a cycle of the whole heap for every few bytes allocated, uncharged
-- contained: the pause is fitted no lower than 124 (sandbox_fit_collector): at least a quarter heap is allocated between two cycles, so the collector's work per instruction stays a small multiple of Lua's default; the heap meets the limit and the emergency collections are charged
-- expect: run ECPU|EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local keep, n = nil, 0
  collectgarbage()
  while collectgarbage("count") < 228 do n = n + 1 keep = {keep, n} end
  collectgarbage()
  while true do local s = ("g"):rep(100) .. n end
end)
