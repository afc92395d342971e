-- Runs first (priority 100): nothing else needs to see a request for an
-- internal path that came from outside.
local hooks = require "lplug.hooks"
local config = require "lplug.config"

local function starts(s, prefix)
  return s:sub(1, #prefix) == prefix
end

hooks.on("request", function(req)
  if starts(req.path, config.prefix) and not starts(req.ip, config.internal) then
    req.blocked = "internal path " .. config.prefix .. " from " .. req.ip
    return req, hooks.STOP
  end
end, { priority = 100 })
