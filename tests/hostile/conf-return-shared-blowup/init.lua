-- attack: returning one 100 KB string referenced 20 times (2 MB encoded from 100 KB of memory)
-- contained: a result may encode to at most four times the memory limit
-- expect: run EVALUE
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("x"):rep(100000)
  local t = {}
  for i = 1, 20 do t[i] = s end
  return t
end)
