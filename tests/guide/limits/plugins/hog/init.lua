local hooks = require "lplug.hooks"
local kept = {}

hooks.on("record", function(rec)
  local i = 0
  while true do
    i = i + 1; kept[i] = { i, i + 1, i + 2 }
  end
end)
