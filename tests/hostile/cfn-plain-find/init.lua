-- attack: plain string.find of a 30 KB needle in a 60 KB haystack that almost matches everywhere (quadratic memcmp), in a loop
-- contained: plain searches charge the bytes they compare
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s, needle = ("a"):rep(60000), ("a"):rep(30000) .. "b"
  while true do string.find(s, needle, 1, true) end
end)
