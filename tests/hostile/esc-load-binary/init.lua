-- attack: load of a precompiled (binary) chunk
-- contained: load is forced to text mode
-- expect: run ERUNTIME attempt to load a binary chunk
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local f, err = load("\27LuaT\0\25\147\r\n\26\n", "x", "b")
  error(err, 0)
end)
