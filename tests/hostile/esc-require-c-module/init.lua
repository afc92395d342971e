-- attack: require of a C module
-- contained: require loads only lplug modules and Lua files of the plugin
-- expect: run ERUNTIME require 'socket.core'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  return require("socket.core")
end)
