-- attack: 256 subscriptions to one topic with handlers that do nothing; the attack call emits a payload of 800 tables 20 times, paying once for each copy it queues, while every one of the 256 subscriptions is given a copy of its own (5,120 copies of 800 tables from one call, uncounted: a 4 MB plugin with 30,000 tables a payload made one lplug_dispatch 0.34 s per event)
-- contained: a subscriber pays for its copy of the payload (its bytes, and VALUE_ITEM_WORK for each value made), which counts toward its LPLUG_DISPATCH_BUDGETS allowance (tests/unit/test_events.c dispatches this plugin's events and counts its calls; the runner checks the attack call itself)
-- expect: run OK
local events = require "lplug.events"
local hooks = require "lplug.hooks"
local function nothing() end
for _ = 1, 256 do events.on("p.big", nothing) end
hooks.on("attack", function(v)
  local t = {}
  for i = 1, 800 do t[i] = {} end
  for _ = 1, 20 do
    if not events.emit("p.big", t) then break end
  end
  return v
end)
