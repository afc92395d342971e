local hooks = require "lplug.hooks"
hooks.on("t", function(rec)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", i) end
end)
hooks.on("u", function(rec)
  while true do pcall(function() while true do end end) end
end)
