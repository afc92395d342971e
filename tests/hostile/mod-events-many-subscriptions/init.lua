-- attack: subscribe 100,000 times with a long pattern: each subscription holds host memory outside the plugin's limit
-- contained: a plugin has at most 256 subscriptions; the next one fails the load
-- expect: load ERUNTIME at most 256 subscriptions
local events = require "lplug.events"
local f = function() end
local pattern = ("a"):rep(60) .. "." .. ("b"):rep(60)
for _ = 1, 100000 do events.on(pattern, f) end
