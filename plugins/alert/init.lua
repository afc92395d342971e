-- Events arrive after the record that caused them has been handled.
local events = require "lplug.events"
local log = require "lplug.log"

events.on("counter.error", function(e)
  log.warn("record %d is ERROR number %d (counted across runs)",
           e.record, e.count)
end)
