-- attack: print and lplug.log without end, 4 KB a line: print needs no
--   capability, and was not rate-limited (100,000 lines all reached the
--   host, whose callback time the call's backstop does not count)
-- contained: both share one rate limit (100 lines at once, 50 a second;
--   the runner counts the host's lines), and the loop ends at the limit
-- expect: run ECPU
local hooks = require "lplug.hooks"
local log = require "lplug.log"
local s = ("x"):rep(4096)

hooks.on("attack", function(v)
  while true do
    print(s)
    log.info("%s", s)
  end
end)
