-- Runs last (priority -10), after the others changed the line.
local hooks = require "lplug.hooks"

hooks.on("record", function(rec)
  rec.line = string.format("%5d  %s", rec.n, rec.line)
  return rec
end, { priority = -10 })
