-- Runs early (priority 90, after drop-debug): later plugins find
-- rec.fields on the records it understood; other records pass untouched.
local hooks = require "lplug.hooks"
local json = require "lplug.json"

-- 10.1.2.3 - - [24/Nov/2026:08:00:01 +0000] "GET /a HTTP/1.1" 200 512 "-" "curl/8"
local COMBINED = '^(%S+) %S+ (%S+) %[([^%]]+)%] "(%u+) (%S+) ([^"]+)" (%d+) (%S+) "([^"]*)" "([^"]*)"'

local function parse(line)
  local ip, user, time, method, path, proto, status, bytes, referer, agent =
    line:match(COMBINED)
  if ip then
    return { ip = ip, user = user ~= "-" and user or nil, time = time,
             method = method, path = path, protocol = proto,
             status = tonumber(status), bytes = tonumber(bytes) or 0,
             referer = referer ~= "-" and referer or nil, agent = agent }
  end
  if line:sub(1, 1) == "{" then
    local t = json.decode(line)
    if type(t) == "table" then return t end
  end
end

hooks.on("record", function(rec)
  local fields = parse(rec.line)
  if fields then
    rec.fields = fields
    return rec
  end
end, { priority = 90 })
