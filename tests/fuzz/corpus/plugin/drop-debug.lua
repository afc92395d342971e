-- Runs first (priority 100): a DEBUG line is dropped and no other
-- handler sees it.
local hooks = require "lplug.hooks"

hooks.on("record", function(rec)
  if rec.line:find(" DEBUG ", 1, true) then
    return false, hooks.STOP
  end
end, { priority = 100 })
