-- attack: a pattern of 300 optional items (deep matcher recursion)
-- contained: matcher recursion is bounded
-- expect: run ERUNTIME pattern too complex
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return string.find(("a"):rep(300), ("a?"):rep(300))
end)
