-- cdef_check.lua HEADER BINDING -- checks that the ffi.cdef [[ ... ]] of
-- the LuaJIT binding declares exactly the statements of the C header, in
-- the same order, whitespace aside.  The header's error enum is left out
-- on both sides: it is made by a macro, and the binding reads codes with
-- lplug_errname.  Prints "ok - ..." or "not ok - ..." lines.
local header_path, binding_path = arg[1], arg[2]

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

-- Top-level C statements of `src`, each with whitespace normalised.
local function statements(src)
  src = src:gsub("/%*.-%*/", " ")            -- comments
           :gsub("\\\n", " ")                -- continued lines
  local lines = {}
  for line in (src .. "\n"):gmatch("(.-)\n") do
    if not line:match("^%s*#") then lines[#lines + 1] = line end
  end
  src = table.concat(lines, "\n"):gsub('extern%s+"C"%s*{', " ")
  local out, cur, depth = {}, {}, 0
  for ch in src:gmatch(".") do
    cur[#cur + 1] = ch
    if ch == "{" then depth = depth + 1
    elseif ch == "}" then depth = depth - 1
    elseif ch == ";" and depth == 0 then
      local st = table.concat(cur):gsub("%s+", " ")
                   :gsub("%s*([%(%)%*,;{}=%[%]])%s*", "%1"):gsub("^%s+", "")
      if not st:find("lplug_errno", 1, true) then out[#out + 1] = st end
      cur = {}
    end
  end
  return out
end

local h = statements(read(header_path))
local cdef = read(binding_path):match("ffi%.cdef %[%[(.-)%]%]")
assert(cdef, "no ffi.cdef [[ ... ]] block in " .. binding_path)
local b = statements(cdef)

local bad = 0
for i = 1, math.max(#h, #b) do
  if h[i] ~= b[i] then
    print("# header:  " .. tostring(h[i]))
    print("# binding: " .. tostring(b[i]))
    bad = bad + 1
    break
  end
end
print((bad == 0 and "ok" or "not ok") ..
      " - the LuaJIT cdef declares the " .. #h .. " statements of lplug.h")
print((#h > 50 and "ok" or "not ok") .. " - the header parses into statements")
os.exit(bad == 0 and #h > 50 and 0 or 1)
