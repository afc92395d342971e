local hooks = require "lplug.hooks"
local t = {} t.self = t
hooks.on("t", function(rec) return t end)
hooks.on("u", function(rec)
  local deep = {} local cur = deep
  for i = 1, 200 do cur.x = {} cur = cur.x end
  return { [0/0 ~= 0/0] = 1, [1.5] = deep, [math.huge] = -0.0, [math.mininteger] = "m" }
end)
