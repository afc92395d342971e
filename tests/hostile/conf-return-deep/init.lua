-- attack: returning tables nested 1000 deep
-- contained: nesting is bounded
-- expect: run EVALUE deep
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local t = {}
  local cur = t
  for i = 1, 1000 do cur.next = {} cur = cur.next end
  return t
end)
