-- attack: require "io" to get the io library back
-- contained: standard libraries are not requirable
-- expect: run ERUNTIME require 'io'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return require("io")
end)
