-- attack: writes storage, then returns a function
-- contained: a result that cannot cross fails the call and undoes its writes
-- expect: run EVALUE
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local storage = require "lplug.storage"
  storage.set("pwned", true)
  return print
end)
