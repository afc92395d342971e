-- attack: before/after lists of 100 KB names, copied into host memory by every registration
-- contained: a name longer than a plugin name (64 characters) is refused before anything is copied
-- expect: load ERUNTIME at most 64 characters
local hooks = require "lplug.hooks"
local big = ("x"):rep(100 * 1024)
local list = {}
for i = 1, 32 do list[i] = big end
hooks.on("attack", function(v) return v end, { before = list, after = list })
