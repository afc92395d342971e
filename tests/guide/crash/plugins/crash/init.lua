local hooks = require "lplug.hooks"
hooks.on("record", function(rec)
  if rec.n == 2 then
    error("cannot handle record " .. rec.n)
  end
end)
