-- Runs late (priority 5): counters before it see every record.
local hooks = require "lplug.hooks"
local config = require "lplug.config"

local seen, nkeys = {}, 0
local key, every, max_keys = config.key, config.every, config.max_keys

hooks.on("record", function(rec)
  local f = rec.fields
  local k = f and f[key]
  if k == nil or every == 1 then return end
  local n = seen[k]
  if n == nil then
    if nkeys >= max_keys then seen, nkeys = {}, 0 end  -- bounded memory
    nkeys = nkeys + 1
    n = 0
  end
  seen[k] = (n + 1) % every
  if n ~= 0 then return false, hooks.STOP end   -- keep the first of each N
end, { priority = 5 })
