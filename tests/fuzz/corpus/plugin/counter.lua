-- Runs after drop-debug (priority 100) and before the others: counts
-- each record's level ("2026-11-24T08:00:11Z ERROR payments: ...").
local hooks = require "lplug.hooks"
local storage = require "lplug.storage"
local events = require "lplug.events"

hooks.on("record", function(rec)
  local level = rec.line:match("^%S+%s+(%u+)%s")
  if level == nil then return end
  local count = storage.incr("level:" .. level)   -- kept across runs
  if level == "WARN" or level == "ERROR" then
    events.emit("counter." .. level:lower(),
                { level = level, count = count, record = rec.n })
  end
end, { priority = 50 })
