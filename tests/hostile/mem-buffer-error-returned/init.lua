-- attack: a string buffer's refused growth raises "not enough memory" without Lua's second try; pcall catches it and the handler returns it in a tail call, so no instruction runs after it
-- contained: a refusal still awaiting its second try when the call ends is a memory stop
-- expect: run EMEM
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return pcall(string.rep, "x", 1000000)
end)
