-- Runs last (priority 10): only requests the other plugins let through
-- count against an address.
local hooks = require "lplug.hooks"
local storage = require "lplug.storage"
local events = require "lplug.events"
local config = require "lplug.config"

hooks.on("request", function(req)
  local n = storage.incr("requests:" .. req.ip)
  if n > config.max then
    if n == config.max + 1 then   -- tell the host once per address
      events.emit("ratelimit.exceeded", { ip = req.ip, max = config.max })
    end
    req.blocked = "more than " .. config.max .. " requests from " .. req.ip
    return req, hooks.STOP
  end
end, { priority = 10 })
