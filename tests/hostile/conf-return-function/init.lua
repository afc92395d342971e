-- attack: returning a function to the host
-- contained: values cross by copy; functions are refused with their path
-- expect: run EVALUE function
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return { handler = print }
end)
