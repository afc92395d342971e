-- attack: string.find(".-.-.-.-b") on 400 bytes: hours of backtracking in C, no VM instruction
-- contained: our matcher charges its steps to the budget (and sees the deadline)
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return string.find(("a"):rep(400), ".-.-.-.-b")
end)
