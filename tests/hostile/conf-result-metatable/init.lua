-- attack: a result whose metatable loops in __index, __pairs and __len
-- contained: the engine reads results raw and ignores metatables
-- expect: run OK
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local loop = function() while true do end end
  return setmetatable({ a = 1 }, { __index = loop, __pairs = loop, __len = loop })
end)
