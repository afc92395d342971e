-- Runs after parse (priority 80) on the records parse understood.
local hooks = require "lplug.hooks"
local services = require "data.services"   -- data/services.lua, this folder

local CLASSES = { "informational", "success", "redirect", "client error",
                  "server error" }

local function owner(path)
  for _, s in ipairs(services) do
    if path:sub(1, #s.prefix) == s.prefix then return s end
  end
end

hooks.on("record", function(rec)
  local f = rec.fields
  if f == nil then return end
  local s = f.path and owner(f.path)
  if s then
    f.service, f.team = s.service, s.team
  end
  if math.type(f.status) == "integer" then
    f.class = CLASSES[f.status // 100]
  end
  return rec
end, { priority = 80 })
