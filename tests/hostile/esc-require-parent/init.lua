-- attack: require of a file outside the plugin folder
-- contained: names are words only; realpath must stay in the folder
-- expect: run ERUNTIME not a module name
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return require("../../../etc/passwd")
end)
