local hooks = require "lplug.hooks"
local storage = require "lplug.storage"
local events = require "lplug.events"
local log = require "lplug.log"
local config = require "lplug.config"

hooks.on("record", function(rec)
  if rec.line == "boom" then error("cannot handle boom") end
  local n = storage.incr("records")
  events.emit("probe.seen", { n = n })
  rec.tag = config.tag
  return rec
end)

hooks.on("check", function(v) return v * 2 end)

events.on("ping", function(p)
  log.info("pong %s", p.who)
end)
