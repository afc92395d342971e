-- attack: arithmetic on a string of 100 KB of blanks and a digit in a loop (each `s + 0` scans it inside one VM instruction)
-- contained: the string metatable's arithmetic is charged by its strings' bytes
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = (" "):rep(100000) .. "1"
  while true do local _ = s + 0 end
end)
