-- attack: reach the handler cap on one hook point, then flood a second one, hoping the cap is counted per plugin rather than per hook (or only checked on the first)
-- contained: each hook point has its own cap of 16 handlers per plugin; the 17th registration on the second hook fails the load
-- expect: load ERUNTIME at most 16 handlers on one hook point
local hooks = require "lplug.hooks"
local f = function(v) return v end
for _ = 1, 16 do hooks.on("ping", f) end
for _ = 1, 100000 do hooks.on("attack", f) end
