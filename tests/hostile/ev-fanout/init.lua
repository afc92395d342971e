-- attack: 256 subscriptions to one topic, each handler burning most of a call's budget; the attack call queues 400 events of that topic (or fills the queue; each emit pays for matching the 256 subscriptions), so one dispatch would make queue x 256 calls, each within its budget (hours of host CPU, never a failure)
-- contained: a dispatch lets a plugin's handlers spend at most LPLUG_DISPATCH_BUDGETS (100) times its per-call budget, then reports ECPU and makes no more of its deliveries (tests/unit/test_events.c dispatches this plugin's events and counts its calls; the runner checks the attack call itself)
-- expect: run OK
local events = require "lplug.events"
local hooks = require "lplug.hooks"
local function burn()
  local x = 0
  for i = 1, 20000 do x = x + i end
  return x
end
for _ = 1, 256 do events.on("f.tick", burn) end
hooks.on("attack", function(v)
  for _ = 1, 400 do  -- until the queue is full, within the call's budget
    if not events.emit("f.tick", false) then break end
  end
  return v
end)
