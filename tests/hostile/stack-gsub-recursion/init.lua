-- attack: a gsub callback calling gsub with itself
-- contained: Lua's C stack limit raises an ordinary error
-- expect: run ERUNTIME stack overflow
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local function f(s) return (s:gsub(".", f)) end
  return f("ab")
end)
