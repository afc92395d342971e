-- attack: a number as error object
-- contained: reported with where it happened
-- expect: run ERUNTIME 42
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  error(42)
end)
