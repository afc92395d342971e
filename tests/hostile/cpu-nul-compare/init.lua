-- attack: `<` on two 20 KB strings of NUL bytes in a loop (one VM instruction making one strcoll per byte: 200,000 instructions of them run about 20 s)
-- contained: the deadline stops the call within one comparison of its limit; instruction mode's backstop stops it too, after 5 s (limits_backstop_stops_what_the_budget_does_not)
-- expect: run ECPU
-- modes: deadline
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local a = ("\0"):rep(20000) .. "a"
  local b = ("\0"):rep(20000) .. "b"
  while true do local _ = a < b end
end)
