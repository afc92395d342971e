-- attack: filling the heap to within a few kilobytes of the limit, then calling string.upper in a loop, so that every call must collect the previous result before its buffer fits (a full collection per call of a few instructions)
-- contained: the collection a buffer builder makes first is charged a heap's worth of instructions, as collectgarbage("collect") is (limits_buffer_room_collections_are_charged measures the charge: at these small limits the collector's own steps free most of the garbage first)
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local big = ("x"):rep(1500)
  local keep, n = nil, 0
  collectgarbage()  -- the loop makes no garbage: the count is what is kept
  while collectgarbage("count") < (256 * 1024 - 3750) / 1024 do
    n = n + 1
    keep = {keep, n}
  end
  while true do local u = big:upper() end
end)
