-- attack: an error object whose __index loops, hoping the engine looks up its message field
-- contained: the engine reads the message field with rawget
-- expect: run ERUNTIME (error object is a table value)
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  error(setmetatable({}, { __index = function() while true do end end }))
end)
