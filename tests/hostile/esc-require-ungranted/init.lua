-- attack: require of an lplug module the manifest does not declare
-- contained: capabilities come from the manifest and the host
-- expect: run ERUNTIME storage
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return require("lplug.storage")
end)
