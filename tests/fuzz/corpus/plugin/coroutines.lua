local hooks = require "lplug.hooks"
hooks.on("t", function(rec)
  local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
  local x = co(1)
  rec.x = co(x)
  local ok, err = pcall(error, setmetatable({}, { __tostring = function() return "obj" end }))
  rec.err = tostring(err)
  local t <close> = setmetatable({}, { __close = function() rec.closed = true end })
  return rec
end)
hooks.on("u", function(rec) return function() end end)
