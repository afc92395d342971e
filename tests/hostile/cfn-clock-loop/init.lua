-- attack: os.clock() and os.time{...} in a loop: each is a system call or a time zone lookup (about 1.4 us) for a few instructions, so a budget of 1M instructions took 0.47 s, and the default 10M budget 4.7 s, under the 10 s backstop
-- contained: os.clock and os.time are charged 100 instructions a call; the plugin counts its tries and raises after 30,000 (about 4,900 fit in the budget now, 150,000 did)
-- expect: run ECPU
-- modes: instructions
local hooks = require "lplug.hooks"
hooks.on("attack", function(v)
  local clock, time, tries = os.clock, os.time, 0
  local day = { year = 2020, month = 1, day = 1 }
  while true do
    clock()
    time(day)
    tries = tries + 1
    if tries > 30000 then error(tries .. " tries within the budget") end
  end
end)
