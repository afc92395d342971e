-- Events arrive after the record that caused them has been handled.
local events = require "lplug.events"
local log = require "lplug.log"
local config = require "lplug.config"

events.on("counter.error", function(e)
  if e.count % config.every == 0 then
    log.warn("record %d is ERROR number %d (counted across runs)",
             e.record, e.count)
  end
end)
