-- attack: register one handler thousands of times: host memory for each, and a full budget for each on every run of the hook
-- contained: a plugin has at most 16 handlers on one hook point; the 17th registration fails the load
-- expect: load ERUNTIME at most 16 handlers on one hook point
local hooks = require "lplug.hooks"
local f = function(v) return v end
for _ = 1, 100000 do hooks.on("attack", f) end
