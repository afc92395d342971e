-- base_compare.lua: run by tests/unit/test_guards.c both in stock Lua 5.4
-- and as a plugin handler, as guards_compare.lua is; the two outputs must
-- be the same.  The functions the sandbox implements or wraps itself
-- (sandbox/corolib.c, baselib.c) against the stock ones.  Two differences
-- are by design and not here: xpcall's handler runs after unwinding, so
-- an error in it is returned as it is (stock: "error in error handling");
-- load never takes binary chunks, so its mode argument is ignored.
local out = {}
local function ser(...)
  local t, parts = table.pack(...), {}
  for i = 1, t.n do
    local v = t[i]
    if type(v) == 'string' then v = v:gsub('^[^\n]-:%d+: ', '') end
    parts[i] = type(t[i]) .. ':' .. tostring(v):gsub('0x%x+', 'ADDR')
  end
  return table.concat(parts, ',')
end
local function add(...) out[#out + 1] = ser(...) end
-- coroutines
local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b)
  local d, e = coroutine.yield(c * 2)
  return d, e, 'end'
end)
add(coroutine.resume(co, 1, 2)) add(coroutine.status(co))
add(coroutine.resume(co, 10)) add(coroutine.resume(co, 'x', 'y'))
add(coroutine.status(co)) add(coroutine.resume(co))
add(coroutine.isyieldable()) add(select(2, coroutine.running()))
local w = coroutine.wrap(function(...) local n = select('#', ...) coroutine.yield(n) error('in wrap') end)
add(w(1, nil, 3)) add(pcall(w))
add(pcall(coroutine.wrap(function() error({code = 1}) end)))
local co2 = coroutine.create(function() coroutine.yield() end)
coroutine.resume(co2) add(coroutine.close(co2)) add(coroutine.status(co2))
local co3 = coroutine.create(function() error('boom') end)
add(coroutine.resume(co3)) add(coroutine.close(co3)) add(coroutine.status(co3))
add(pcall(coroutine.resume, coroutine.running()))
add(coroutine.resume(coroutine.create(function() return coroutine.isyieldable() end)))
local co4 = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() out[#out+1] = 'closed' end}) coroutine.yield(1) end)
add(coroutine.resume(co4)) add(coroutine.close(co4))
add(pcall(coroutine.wrap(function() return coroutine.yield end)))
-- a wrapped coroutine that died is dead: calling it again does not run
-- its error object; a __close handler's error is the one raised
local f = coroutine.wrap(function() error('boom') end)
add(pcall(f)) add(pcall(f))
local g = coroutine.wrap(function() error(function() return '!' end) end)
add((pcall(g))) add(pcall(g))
local h = coroutine.wrap(function()
  local x <close> = setmetatable({}, { __close = function() error('in close') end })
  error('boom')
end)
add(pcall(h))
local outer = coroutine.create(function()
  local me = coroutine.running()
  return coroutine.resume(coroutine.create(function() return coroutine.close(me) end))
end)
add(coroutine.resume(outer))
add(pcall(table.sort, {}, 5)) add(pcall(table.sort, { 1 }, 'x'))
-- xpcall
add(xpcall(function(...) return ... end, print, 1, 2, nil))
add(xpcall(function() error('e1') end, function(m) return 'h:' .. m end))
add(xpcall(function() error({1}) end, function(m) return type(m) end))
add(pcall(xpcall))
add(pcall(xpcall, print))
add(xpcall(error, function(m) return m end, 'direct'))
local co5 = coroutine.create(function()
  return xpcall(function() local v = coroutine.yield('y1') error('after ' .. v) end,
                function(m) return 'H ' .. m end)
end)
add(coroutine.resume(co5)) add(coroutine.resume(co5, 'resume'))
add(pcall(function() return select(-1, 'a', 'b') end))
add(select('#', nil, nil)) add(pcall(select, -3, 'a'))
add(pcall(error)) add(pcall(error, nil)) add(pcall(error, 'lvl2', 2))
add(tostring(nil), tostring(1.5), tostring(-0.0), tostring(1e100), tostring(2^63))
add(tonumber('0x1p4'), tonumber('10', 2), tonumber(' 12 '), tonumber('1e'), tonumber('z', 36))
add(math.type(1), math.type(1.0), math.type('1'), math.tointeger(3.0), math.ult(1, -1))
add(string.format('%q', 1/0), string.format('%q', 0/0 ~= 0/0), string.format('%5s|%-5s|', 'a', 'b'))
add(#'abc', ('abc'):len(), rawlen({1,2}), rawequal('a', 'a'), next({}))
add(pcall(setmetatable, {}, {}), getmetatable('').__index == string)
add(pcall(string.rep, 'x', -1), ('ab'):rep(3, '-'))
add(load('return 1 + 1')(), load('syntax error here'))
add(load(function() return nil end))
return table.concat(out, '\n')
