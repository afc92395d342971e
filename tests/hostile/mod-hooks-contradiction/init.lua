-- attack: ask to run both before and after a plugin not loaded yet, so that it is refused when it arrives
-- contained: a handler naming one plugin in both before and after is refused when it registers
-- expect: load ERUNTIME is named in both before and after
local hooks = require "lplug.hooks"
hooks.on("attack", function(v) return v end,
         { before = "victim", after = { "other", "victim" } })
