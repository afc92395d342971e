-- print past its first buffer: long values, many values, the 4 KB cut on
-- a tab, __tostring results, NUL bytes, and print from a handler.
local hooks = require "lplug.hooks"
local long = ("0123456789"):rep(300)
print(long)
print(long, long, 1, nil, true)
print(("x"):rep(4096), "y")
print(("x"):rep(4095), "y", "z")
print(setmetatable({}, { __tostring = function() return long end }), long)
print("a\0b", long .. "\0" .. long)
local t = {}
for i = 1, 300 do t[i] = i end
print(table.unpack(t))
hooks.on("t", function(rec)
  print(rec.line, long, rec.n)
  return rec
end)
