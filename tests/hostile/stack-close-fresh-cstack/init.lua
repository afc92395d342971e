-- attack: Lua 5.4.4 runs a coroutine's __close handlers with the coroutine's own count of C calls, so each nested coroutine.close grants ~200 fresh C levels: 8 handlers each 190 gsub callbacks deep, closing the next (crashed a 3 MB C stack)
-- contained: a close is refused once the call's C stack passes 384 KB, so a call stays within the 1 MB docs/security.md asks for (tests/unit/test_sandbox.c runs this on a 1 MB thread)
-- expect: run ERUNTIME C stack overflow
local hooks = require "lplug.hooks"

local DEPTH = 190
local function deep(n, k)
  if n == 0 then return k() end
  return (("x"):gsub("x", function() deep(n - 1, k) end))
end

hooks.on("attack", function(v)
  local cos = {}
  for i = 1, 8 do
    cos[i] = coroutine.create(function()
      local x <close> = setmetatable({}, { __close = function()
        deep(DEPTH, function()
          if cos[i + 1] then coroutine.close(cos[i + 1]) end
        end)
      end })
      coroutine.yield()
    end)
    coroutine.resume(cos[i])
  end
  deep(DEPTH, function() coroutine.close(cos[1]) end)
  return v
end)
