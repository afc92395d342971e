-- attack: an error table whose message field has a looping __tostring
-- contained: only a string message is used; nothing runs
-- expect: run ERUNTIME (error object is a table value)
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  error({ message = setmetatable({}, { __tostring = function() while true do end end }) })
end)
