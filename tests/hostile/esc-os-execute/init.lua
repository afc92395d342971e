-- attack: os.execute to run a command
-- contained: os keeps only time functions
-- expect: run ERUNTIME field 'execute'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return os.execute("touch /tmp/lplug-pwned")
end)
