-- attack: coroutine.close nested 100 deep through __close handlers (deep nesting crashes 5.4.4)
-- contained: coroutine.close nesting is bounded
-- expect: run ERUNTIME nested too deeply
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local function make(n)
    local co = coroutine.create(function()
      local guard <close> = setmetatable({}, { __close = function()
        if n > 0 then
          local ok, err = coroutine.close(make(n - 1))
          if not ok then error(err, 0) end
        end
      end })
      coroutine.yield()
    end)
    coroutine.resume(co)
    return co
  end
  local ok, err = coroutine.close(make(100))
  error(err, 0)
end)
