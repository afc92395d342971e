local hooks = require "lplug.hooks"
hooks.on("record", function(rec)
  while true do end
end)
