-- attack: require of a missing module and of one that raises, retried in pcall: a failed require is not cached, and each looks files up again (realpath, stat, open: system calls in the host), a few instructions of Lua for 13-16 us of the host's time, so 1M instructions took 4 s
-- contained: each file lookup of require is charged 1000 instructions; the plugin counts its tries and raises after 2,000 (about 250 fit in the budget now, 125,000 did)
-- expect: run ECPU
-- modes: instructions
local hooks = require "lplug.hooks"
hooks.on("attack", function(v)
  local tries = 0
  while true do
    pcall(require, "no.such.module")
    pcall(require, "fails")
    tries = tries + 1
    if tries > 2000 then error(tries .. " failed requires within the budget") end
  end
end)
