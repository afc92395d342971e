-- attack: a custom _ENV falling back to the globals, looking for io
-- contained: io is not in the globals at all
-- expect: run ERUNTIME global 'io'
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local _ENV = setmetatable({}, { __index = function(_, k) return rawget(_G, k) end })
  return io.open("/etc/passwd")
end)
