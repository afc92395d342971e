-- guards_compare.lua: run by tests/unit/test_guards.c both in stock Lua 5.4
-- and as a plugin handler; the two outputs must be the same, line by line.
-- Every pattern function over subjects x patterns, then the table
-- functions and the other guarded functions (type:value, or ERR:message).
local out = {}
local function ser(...)
  local t, parts = table.pack(...), {}
  for i = 1, t.n do parts[i] = type(t[i]) .. ':' .. tostring(t[i]) end
  return table.concat(parts, ',')
end
local function try(f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then  -- without the position: the chunk names differ
    return 'ERR:' .. (tostring(r[2]):gsub('^[^\n]-:%d+: ', ''))
  end
  return ser(table.unpack(r, 2, r.n))
end
local subjects = { 'hello world', '', 'f(a(b)c)d', 'abba', 'key=val',
  '  trim me  ', 'THE (quick) fox', 'a.b-c[d]e%f', '\0a\0b', 'pi=3.14',
  'one two  three' }
local patterns = { 'o', 'l+', 'l*', 'l-', 'l?', '^h', 'd$', '^hello world$',
  '(o)', '()o()', '(h)(e)', '%a+', '%A+', '%s', '%w+', '[aeiou]',
  '[^aeiou]+', '[a-f]+', '[%a%d]+', '[]]', '[^]]', '%b()', '%f[%w]%w+',
  '(l)%1', '((l)o)', '(.-)o', '.-', '', '^', '$', 'x*$', '[', '%', '(',
  ')', '%1', '(()', '[a-', '%f', '%b', 'a%', '[%', '.*', '(.)(.)%2%1',
  '%d+%.?%d*', '%x%x', '[%-]', '[a%-z]', '%u%l', '%p', '%c', '%g+',
  '[^%s]+$', '^(%w+)=(%w+)$', '()', 'a()b()c', '%s*(.-)%s*$', '%z',
  '\0', '[\0a]+', '%w+%s?', '(%w+)%s*', 'b*', '^a-b', '[%]]', '%.',
  '[.-]', 'l-o', '(a*(.)%w(%s*))', '%f[%a]', '%f[^%z]' }
for _, s in ipairs(subjects) do
  for _, p in ipairs(patterns) do
    out[#out + 1] = s .. ' ~ ' .. p
    out[#out + 1] = try(string.find, s, p)
    out[#out + 1] = try(string.find, s, p, 3)
    out[#out + 1] = try(string.find, s, p, -4, true)
    out[#out + 1] = try(string.find, s, p, 40)
    out[#out + 1] = try(string.match, s, p)
    out[#out + 1] = try(string.match, s, p, -3)
    out[#out + 1] = try(function()
      local r = {}
      for a, b in string.gmatch(s, p) do r[#r + 1] = ser(a, b) end
      return table.concat(r, ';')
    end)
    out[#out + 1] = try(function()
      local r = {}
      for a in string.gmatch(s, p, 2) do r[#r + 1] = ser(a) end
      return table.concat(r, ';')
    end)
    out[#out + 1] = try(string.gsub, s, p, '<%0>')
    out[#out + 1] = try(string.gsub, s, p, '[%1%%]')
    out[#out + 1] = try(string.gsub, s, p, '%2')
    out[#out + 1] = try(string.gsub, s, p, '%x')
    out[#out + 1] = try(string.gsub, s, p, function(a, b)
      if a == 'l' then return nil end
      return type(a) == 'number' and a * 10 or (#a .. tostring(b)) end)
    out[#out + 1] = try(string.gsub, s, p, { hello = 'HI', o = false,
      l = 7, e = {} }, 2)
    out[#out + 1] = try(string.gsub, s, p, 'z', 0)
  end
end
out[#out + 1] = try(string.gsub, 'x', 'x', true)
out[#out + 1] = try(string.find, ('a'):rep(40), ('a'):rep(41), 1, true)
local function list(t) return table.concat(t, ' ') end
local t = { 5, 3, 9, 1, 7, 2, 8, 6, 4, 10, 0, -1 }
table.sort(t) out[#out + 1] = list(t)
table.sort(t, function(a, b) return a > b end) out[#out + 1] = list(t)
local w = { 'pear', 'apple', 'fig', 'kiwi', 'banana' }
table.sort(w) out[#out + 1] = list(w)
out[#out + 1] = try(table.sort, { 1, 'x', 2 })
out[#out + 1] = try(table.sort, { 3, 2, 1 }, 7)
out[#out + 1] = try(table.sort, 'nope')
for n = 0, 40 do
  local u = {} for i = 1, n do u[i] = (i * 7919) % 101 end
  table.sort(u) out[#out + 1] = list(u)
end
local a = { 1, 2, 3 }
table.insert(a, 4) table.insert(a, 1, 0) table.insert(a, 3, 'x')
out[#out + 1] = list(a)
out[#out + 1] = try(table.insert, a, 9, 'y')
out[#out + 1] = try(table.insert, a, 1, 2, 3)
out[#out + 1] = ser(table.remove(a)) .. ' ' .. list(a)
out[#out + 1] = ser(table.remove(a, 1)) .. ' ' .. list(a)
out[#out + 1] = ser(table.remove(a, #a + 1)) .. ' ' .. list(a)
out[#out + 1] = try(table.remove, a, 9)
out[#out + 1] = ser(table.remove({})) .. ser(table.remove({}, 0))
out[#out + 1] = list(table.move({ 1, 2, 3, 4, 5 }, 2, 4, 1))
out[#out + 1] = list(table.move({ 1, 2, 3, 4, 5 }, 1, 3, 3))
out[#out + 1] = list(table.move({ 1, 2, 3 }, 1, 3, 2, { 9 }))
out[#out + 1] = try(table.move, {}, 1, math.maxinteger, 2)
out[#out + 1] = try(table.move, {}, -1, math.maxinteger, 2)
out[#out + 1] = ser(table.unpack({ 1, 2, 3 }))
out[#out + 1] = ser(table.unpack({ 1, 2, 3 }, 2))
out[#out + 1] = ser(table.unpack({ 1, 2, 3 }, -1, 1))
out[#out + 1] = ser(table.unpack({ 1, 2, 3 }, 3, 2))
out[#out + 1] = try(table.unpack, {}, 1, 1e8)
out[#out + 1] = table.concat({ 1, 'a', 2.5 }, ', ')
out[#out + 1] = table.concat({ 1, 2, 3 }, '-', 2, 3)
out[#out + 1] = table.concat({}, 'x') .. table.concat({ 1 }, 'x', 3)
out[#out + 1] = try(table.concat, { 1, {}, 3 })
out[#out + 1] = try(table.concat, { 1, 2 }, ',', 1, 3)
local p = setmetatable({}, { __index = function(_, i) return i * 2 end,
                             __len = function() return 4 end })
out[#out + 1] = table.concat(p, ',') .. ' ' .. ser(table.unpack(p))
out[#out + 1] = ser(string.rep('ab', 3, ','), string.rep('', 5),
  string.rep('x', 0), string.rep('x', -1))
out[#out + 1] = ser(('hello'):byte(1, -1)) .. ser(('hi'):byte(-10, 10))
out[#out + 1] = ser(('Hello'):upper(), ('Hello'):lower(),
  ('abc'):reverse(), ('abcdef'):sub(2, -2), tonumber('  0x10  '),
  tonumber('z', 36), string.format('%5.2f|%q|%s', 3.14159, 'a\n', {} ~= nil))
out[#out + 1] = ser(utf8.len('h\u{e9}llo'), utf8.offset('h\u{e9}llo', 3),
  utf8.codepoint('h\u{e9}llo', 1, -1), utf8.len('\xff'))
for p, c in utf8.codes('a\u{e9}\u{4e2d}') do out[#out + 1] = p .. '=' .. c end
out[#out + 1] = try(function() for _ in utf8.codes('a\xffb') do end end)
out[#out + 1] = ser(string.unpack('i4s1', string.pack('i4s1', 7, 'xy')))
out[#out + 1] = ser(string.packsize('i4i8'), os.date('!%Y', 0))
do  -- %s of values with __tostring, beside other conversions
  local t = setmetatable({}, {__tostring = function() return 'T!' end})
  out[#out + 1] = string.format('%s|%5.1s|%-4s|%%|%d|%s', t, t, t, 7, 'x')
  out[#out + 1] = try(string.format, '%s', setmetatable({},
    {__tostring = function() return 1 end}))
end
-- Errors of the guarded functions read as stock Lua's: the function's
-- name, the argument's number (one less in a method call), and the
-- caller's position, which try() strips but must be there.
out[#out + 1] = try(string.format, '%d', 'x')
out[#out + 1] = try(string.sub)
out[#out + 1] = try(function() return ('x'):sub() end)
out[#out + 1] = try(function() return string.format('%d', {}) end)
out[#out + 1] = try(function() return ('x'):byte({}) end)
out[#out + 1] = try(function() return utf8.len('a', 5) end)
out[#out + 1] = try(tonumber)
out[#out + 1] = try(utf8.codepoint, 'a', 9)
out[#out + 1] = try(setmetatable, 1)
out[#out + 1] = try(function() return setmetatable({}, 1) end)
out[#out + 1] = try(load, 1)
out[#out + 1] = try(function() return load({}) end)
out[#out + 1] = type(collectgarbage('count'))
out[#out + 1] = try(coroutine.resume, 1)
out[#out + 1] = try(coroutine.close, 1)
out[#out + 1] = try(coroutine.status)
-- Arithmetic on strings (the string metatable's, charged): results,
-- subtypes and errors as stock Lua's.
for _, e in ipairs { {'10', 1}, {' 0x10 ', 2}, {'1e2', '3'}, {'7', ' 2 '},
                     {'abc', 1}, {1, 'x'}, {'2', {}} } do
  local a, b = e[1], e[2]
  out[#out + 1] = ser(try(function() return a + b end),
    try(function() return a - b end), try(function() return a * b end),
    try(function() return a / b end), try(function() return a % b end),
    try(function() return a ^ b end), try(function() return a // b end),
    try(function() return -a end),
    try(function() return math.type(a + b) end))
end
-- A size string.pack refuses is an error to catch, not a charge for it.
out[#out + 1] = ser(try(string.pack, 'i9999999999', 1),
  try(string.pack, 'i17', 1), try(string.pack, '!99', 1))
local function where(f)
  local _, msg = pcall(f)
  return tostring(msg:match('^[^\n]-:%d+: ') ~= nil)
end
out[#out + 1] = where(function() return ('x'):sub() end) ..
  where(function() return ('x'):rep() end) ..
  where(function() return string.format('%d', 'x') end) ..
  where(function() return setmetatable(1, {}) end) ..
  where(function() return load({}) end)
return table.concat(out, '\n')
