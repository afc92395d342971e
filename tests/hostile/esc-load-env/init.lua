-- attack: load with an environment table holding a fake io, then escaping through it
-- contained: load keeps the environment given; nothing real is reachable
-- expect: run ERUNTIME global 'os2'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local f = load("return os2.execute(\"id\")", "x", "t", { io = {} })
  return f()
end)
