-- attack: package.loadlib to load a shared object
-- contained: package does not exist
-- expect: run ERUNTIME global 'package'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return package.loadlib("/lib/x86_64-linux-gnu/libc.so.6", "system")
end)
