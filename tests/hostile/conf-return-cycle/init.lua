-- attack: returning a table that contains itself
-- contained: cycles are refused
-- expect: run EVALUE cycl
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  t.self = t
  return t
end)
