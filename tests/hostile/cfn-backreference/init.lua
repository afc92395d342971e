-- attack: a back-reference compared at every position of a long subject
-- contained: back-references are charged by their length
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local s = ("a"):rep(30000)
  return string.find(s .. s, "(" .. ("a"):rep(20000) .. ")%1b")
end)
