-- attack: a looping __gc finalizer (Lua runs finalizers with hooks off, even at lua_close)
-- contained: setmetatable refuses __gc
-- expect: run ERUNTIME '__gc' is not allowed
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  setmetatable({}, { __gc = function() while true do end end })
end)
