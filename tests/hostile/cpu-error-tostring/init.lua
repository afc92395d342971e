-- attack: an error object whose __tostring loops, for the engine to print
-- contained: the engine reads error objects raw and never runs their metamethods
-- expect: run ERUNTIME (error object is a table value)
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  error(setmetatable({}, { __tostring = function() while true do end end }))
end)
