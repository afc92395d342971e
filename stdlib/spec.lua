-- spec.lua -- describe/it/assert for plugin specs, in the style of busted.
--
-- Runs inside the test host's sandbox (engine/testhost.c), which loads
-- this file once, giving it protect (below), calls collect(chunk) with
-- the spec file's chunk, then name(i) and run(i) for each test, each
-- run(i) a call of its own with its own instruction budget.  A failed
-- assertion raises an error that names the spec's file:line; run(i) lets
-- it through after the after_each functions ran.  An `it` without a
-- function is pending, as in busted: run(i) returns true for it.

-- protect(f): as pcall(f), and on an error also the "file:line" of the
-- spec where it was raised (the Lua frame nearest the error outside this
-- file), or nil: an error object that is not a string carries none.
local protect = ...

local tests = {}            -- { name = "a b c", fn = f, befores = {}, afters = {} }
                            -- fn = nil: pending
local stack = {}            -- open describe blocks: { name, befores, afters }
local collecting = false

local function full_name(name)
  local parts = {}
  for _, d in ipairs(stack) do parts[#parts + 1] = d.name end
  parts[#parts + 1] = name
  return table.concat(parts, " ")
end

-- optional: the function may be left out (a pending `it`).
local function check_call(what, name, fn, optional)
  if type(name) ~= "string" then
    error(what .. ": the first argument must be a name (a string)", 3)
  end
  if type(fn) ~= "function" and not (optional and fn == nil) then
    error(what .. " '" .. name .. "': the second argument must be a function"
          .. (optional and " (or nothing: a pending test)" or ""), 3)
  end
  if not collecting then
    error(what .. " '" .. name .. "': call it at the top of the spec file "
          .. "or inside describe, not inside a test", 3)
  end
end

function describe(name, fn)
  check_call("describe", name, fn)
  stack[#stack + 1] = { name = name, befores = {}, afters = {} }
  fn()
  stack[#stack] = nil
end

function it(name, fn)
  check_call("it", name, fn, true)
  local befores, afters = {}, {}
  for _, d in ipairs(stack) do
    for _, f in ipairs(d.befores) do befores[#befores + 1] = f end
  end
  for i = #stack, 1, -1 do
    for _, f in ipairs(stack[i].afters) do afters[#afters + 1] = f end
  end
  tests[#tests + 1] = { name = full_name(name), fn = fn,
                        befores = befores, afters = afters }
end

local function add_each(what, list_name, fn)
  if type(fn) ~= "function" then
    error(what .. ": the argument must be a function", 3)
  end
  if #stack == 0 then
    error(what .. ": call it inside describe", 3)
  end
  local list = stack[#stack][list_name]
  list[#list + 1] = fn
end

function before_each(fn) add_each("before_each", "befores", fn) end
function after_each(fn) add_each("after_each", "afters", fn) end

-- Values in messages: strings quoted, tables with sorted keys, bounded.
local function show(v, depth)
  depth = depth or 0
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t ~= "table" then return tostring(v) end
  if depth > 3 then return "{...}" end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then
      return a < b
    end
    return type(a) < type(b)
  end)
  local parts = {}
  for i, k in ipairs(keys) do
    if i > 20 then parts[#parts + 1] = "..."; break end
    local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k
                or "[" .. show(k, depth + 1) .. "]"
    parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function same(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Level 3: fail <- the assertion <- the spec line that called it.
local function fail(message, extra)
  if extra ~= nil then message = tostring(extra) .. ": " .. message end
  error(message, 3)
end

local checks = {}

function checks.equals(expected, actual, msg)
  if expected ~= actual then
    fail("expected " .. show(expected) .. ", got " .. show(actual), msg)
  end
end

function checks.not_equals(expected, actual, msg)
  if expected == actual then
    fail("expected a value other than " .. show(expected), msg)
  end
end

function checks.same(expected, actual, msg)
  if not same(expected, actual) then
    fail("expected the same as " .. show(expected) .. ", got " .. show(actual),
         msg)
  end
end

function checks.is_true(v, msg)
  if v ~= true then fail("expected true, got " .. show(v), msg) end
end

function checks.is_false(v, msg)
  if v ~= false then fail("expected false, got " .. show(v), msg) end
end

function checks.is_nil(v, msg)
  if v ~= nil then fail("expected nil, got " .. show(v), msg) end
end

function checks.is_not_nil(v, msg)
  if v == nil then fail("expected a value, got nil", msg) end
end

function checks.truthy(v, msg)
  if not v then fail("expected a true value, got " .. show(v), msg) end
end

function checks.falsy(v, msg)
  if v then fail("expected false or nil, got " .. show(v), msg) end
end

function checks.matches(pattern, s, msg)
  if type(s) ~= "string" or not s:find(pattern) then
    fail("expected a string matching " .. show(pattern) .. ", got " .. show(s),
         msg)
  end
end

-- has_error(fn [, expected]): expected is text the error message must
-- contain (plain, not a pattern).
function checks.has_error(fn, expected, msg)
  local ok, err = pcall(fn)
  if ok then fail("expected an error, but the function returned", msg) end
  if expected ~= nil then
    local text = tostring(err)
    if not text:find(expected, 1, true) then
      fail("expected an error containing " .. show(expected) .. ", got "
           .. show(text), msg)
    end
  end
end

function checks.has_no_error(fn, msg)
  local ok, err = pcall(fn)
  if not ok then fail("expected no error, got " .. show(tostring(err)), msg) end
end

local aliases = {
  equal = "equals", are_equal = "equals", not_equal = "not_equals",
  are_same = "same", has_errors = "has_error", error = "has_error",
  is_truthy = "truthy", is_falsy = "falsy", match = "matches",
  no_error = "has_no_error",
}
for alias, name in pairs(aliases) do checks[alias] = checks[name] end

assert = setmetatable({}, {
  __index = checks,
  -- assert(v, message): as Lua's, with the spec's line in the message.
  __call = function(_, v, message, ...)
    if not v then
      error(message ~= nil and tostring(message) or "assertion failed", 2)
    end
    return v, message, ...
  end,
})
-- assert.are.equal, assert.is.truthy, assert.are_not.equal, as busted.
checks.are = assert
checks.is = assert
checks.are_not = { equal = checks.not_equals, equals = checks.not_equals }
checks.is_not = checks.are_not

local runner = {}

function runner.collect(chunk)
  collecting = true
  chunk()
  collecting = false
  return #tests
end

function runner.name(i) return tests[i].name end

-- Runs test i; an error in before_each or the test still runs the
-- after_each functions, then goes on up (limits go up in any case).
-- A pending test runs nothing (before_each neither) and returns true.
function runner.run(i)
  local t = tests[i]
  if t.fn == nil then return true end
  local ok, err, where = protect(function()
    for _, f in ipairs(t.befores) do f() end
    t.fn()
  end)
  for _, f in ipairs(t.afters) do f() end
  if not ok then
    -- An error object that is not a string says what it is and where
    -- it was raised, not where the runner raises it again.
    if type(err) ~= "string" then
      local mt = getmetatable(err)
      local text = type(mt) == "table" and mt.__tostring and tostring(err)
        or type(err) == "table" and type(rawget(err, "message")) == "string"
           and rawget(err, "message")
      err = (where and where .. ": " or "") .. "error object is a " ..
            type(err) .. " value" .. (text and ": " .. text or "")
    end
    error(err, 0)
  end
end

return runner
