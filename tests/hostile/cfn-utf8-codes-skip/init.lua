-- attack: the utf8.codes iterator called by hand on 50 KB of continuation bytes (it skips them all each call)
-- contained: the iterator is charged by the run it skips
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("\x80"):rep(50000)
  local f = utf8.codes(s)
  while true do pcall(f, s, 0) end
end)
