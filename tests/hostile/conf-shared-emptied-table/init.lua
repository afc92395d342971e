-- attack: a table of 8192 slots, emptied, shared a million times in one payload: each visit walked every slot (the work of a table is its size) but wrote 7 bytes (what the plugin is charged for), so one emit, refused at the value limit, took the host 0.36 s for 130,000 instructions (a hook result: the same, after the call, past any deadline)
-- contained: a table met again is copied from its first encoding, at the cost of the bytes it writes; the plugin times each emit itself and raises if the host spent more than 0.2 s on one
-- expect: run ECPU
local hooks = require "lplug.hooks"
local events = require "lplug.events"
hooks.on("attack", function(v)
  local empty = {}
  for i = 1, 8000 do empty[i] = true end
  for i = 1, 8000 do empty[i] = nil end
  local a, b, c = {}, {}, {}
  for i = 1, 100 do a[i] = empty end
  for i = 1, 100 do b[i] = a end
  for i = 1, 100 do c[i] = b end
  while true do
    local t0 = os.clock()
    pcall(events.emit, "x", c)
    local spent = os.clock() - t0
    if spent > 0.2 then error(("one emit took the host %.2f s"):format(spent)) end
  end
end)
