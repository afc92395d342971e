-- attack: loadfile of a host file
-- contained: loadfile and dofile are removed
-- expect: run ERUNTIME global 'loadfile'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return loadfile("/etc/passwd")
end)
