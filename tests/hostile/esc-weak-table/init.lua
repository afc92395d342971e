-- attack: a weak table (quadratic ephemeron collection, use-after-free in 5.4.4)
-- contained: setmetatable refuses __mode
-- expect: run ERUNTIME '__mode'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return setmetatable({}, { __mode = "k" })
end)
