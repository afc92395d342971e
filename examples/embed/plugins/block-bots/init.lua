-- Runs after deny-paths and before rate-limit, so a bot's requests do
-- not count against its address.
local hooks = require "lplug.hooks"

hooks.on("request", function(req)
  local agent = req.headers and req.headers["user-agent"] or ""
  if req.path ~= "/robots.txt" and agent:lower():find("bot", 1, true) then
    req.blocked = "user agent '" .. agent .. "' is a bot"
    return req, hooks.STOP
  end
end, { priority = 90 })
