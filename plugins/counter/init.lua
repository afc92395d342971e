-- Runs after drop-debug, parse and enrich (priority 50) and before the
-- others: counts each record's level ("2026-11-24T08:00:11Z ERROR
-- payments: ...") or, for parsed access-log records, its status code.
local hooks = require "lplug.hooks"
local storage = require "lplug.storage"
local events = require "lplug.events"

hooks.on("record", function(rec)
  local status = rec.fields and rec.fields.status
  if math.type(status) == "integer" then
    storage.incr("status:" .. status)                 -- kept across runs
    if status >= 500 then
      local count = storage.incr("server_errors")
      events.emit("counter.status", { status = status, count = count,
                                      record = rec.n })
    end
    return
  end
  local level = rec.line:match("^%S+%s+(%u+)%s")
  if level == nil then return end
  local count = storage.incr("level:" .. level)       -- kept across runs
  if level == "WARN" or level == "ERROR" then
    events.emit("counter." .. level:lower(),
                { level = level, count = count, record = rec.n })
  end
end, { priority = 50 })
