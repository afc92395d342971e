-- Masks e-mail and IPv4 addresses in each record's line.
local hooks = require "lplug.hooks"
local patterns = require "lib.patterns"   -- lib/patterns.lua, this folder

hooks.on("record", function(rec)
  local line, n = rec.line, 0
  for _, p in ipairs(patterns) do
    local k
    line, k = line:gsub(p.pattern, p.replacement)
    n = n + k
  end
  if n > 0 then
    rec.line = line
    rec.redacted = n
    return rec
  end
end, { priority = 10 })
