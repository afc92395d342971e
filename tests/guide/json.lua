
-- tests/guide/json.lua: what the comments above say.
assert(t.a[1] == 1 and t.a[2] == 2 and t.b == nil and math.type(t.a[1]) == "integer")
assert(bad == nil and err:find("^line 1, column 7: "), err)
assert(json.decode(s).a[2] == 2 and json.decode(s).b == "x")
local ok, e = pcall(json.encode, { a = { f = print } })
assert(not ok and e:find("value.a.f is a function", 1, true), e)
