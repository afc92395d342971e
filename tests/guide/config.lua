
-- tests/guide/config.lua: what the text around the example says.
assert(type(config) == "userdata" and #config.servers == 2)
assert(type(mine) == "table" and type(list) == "table" and list[2] == "b.example")
local before = config.threshold
mine.threshold = before + 1; list[1] = "c.example"   -- copies: writable
assert(config.threshold == before and config.servers[1] == "a.example")
local ok, e = pcall(function() config.servers[1] = "x" end)
assert(not ok and e:find("config.servers[1] is read-only (", 1, true), e)
