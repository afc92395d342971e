-- attack: string.dump to get bytecode of a function
-- contained: string.dump is removed from the string table itself
-- expect: run ERUNTIME field 'dump'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return string.dump(function() end)
end)
