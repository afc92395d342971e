local hooks = require "lplug.hooks"
hooks.on("record", function(rec)
  rec.line = "tagged: " .. rec.line
  return rec
end)
