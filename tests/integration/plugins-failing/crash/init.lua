-- Fails on every second record, before the tagger runs.
local hooks = require "lplug.hooks"
hooks.on("record", function(rec)
  if rec.n % 2 == 0 then error("cannot handle record " .. rec.n) end
end, { priority = 5 })
