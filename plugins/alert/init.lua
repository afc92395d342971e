-- Events arrive after the record that caused them has been handled.
local events = require "lplug.events"
local log = require "lplug.log"
local config = require "lplug.config"
local time = require "lplug.time"

events.on("counter.error", function(e)
  if e.count % config.every == 0 then
    log.warn("record %d is ERROR number %d (counted across runs)",
             e.record, e.count)
  end
end)

-- Each time the count of server errors reaches a multiple of the
-- threshold: one event for machines, one warning for people.
events.on("counter.status", function(e)
  if e.count % config.threshold == 0 then
    events.emit("alert.server_errors", { count = e.count, status = e.status,
                                         record = e.record, at = time.now() })
    log.warn("%d server errors so far (last: %d at record %d)", e.count,
             e.status, e.record)
  end
end)
