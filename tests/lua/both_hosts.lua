-- Checks both bindings pass alike: tests/lua/host.lua runs them on the
-- Lua 5.4 module, tests/lua/ffi_host.lua on the LuaJIT wrapper, each
-- with its own `check`.  Run from the repository's root.
return function(lplug, check)
  check("strerror describes a numeric code",
        lplug.strerror(-1) == "invalid argument" and
        not pcall(lplug.strerror, "x"))

  -- Names, topics and folders reach C, which would read "a\0b" as "a":
  -- one holding a NUL byte raises instead.
  do
    local x = assert(lplug.new { grant = "declared" })
    for _, call in ipairs {
      { "state", function() return x:state("block-bots\0x") end },
      { "emit", function() return x:emit("t\0.x", 1) end },
      { "load", function() return x:load("examples/embed/plugins/block-bots\0") end },
      { "load_dirs", function() return x:load_dirs { "examples/embed/plugins\0" } end },
    } do
      local okn, m = pcall(call[2])
      check("e:" .. call[1] .. " refuses a name holding a NUL byte",
            not okn and m:find("bad argument #1 to '" .. call[1] ..
                               "' (string contains a NUL byte)", 1, true) ~= nil)
    end
    local okn, m = pcall(lplug.new, { storage_path = "x.db\0y" })
    check("new refuses a storage_path holding a NUL byte", not okn and
          m == "bad option 'storage_path' to 'new' (string contains a NUL byte)")

    -- A callback's error is raised as it was, with no position added; an
    -- error value that is not a string as "error in a host callback".
    x:subscribe("s", function() error("subscriber failed") end)
    x:subscribe("o", function() error({ code = 1 }) end)
    assert(x:emit("s"))
    okn, m = pcall(function() local n = x:dispatch(); return n end)
    check("a callback's error is raised with its own position only",
          not okn and m:find("^tests/lua/both_hosts%.lua:%d+: subscriber failed$") ~= nil)
    assert(x:emit("o"))
    okn, m = pcall(function() local n = x:dispatch(); return n end)
    check("a callback's error that is no string is named so",
          not okn and m == "error in a host callback")
    x:subscribe("z", function() error("bad\0byte", 0) end)
    assert(x:emit("z"))
    okn, m = pcall(function() local n = x:dispatch(); return n end)
    check("a callback's error holding a NUL byte is raised whole",
          not okn and m == "bad\0byte")

    -- An unknown subscription is told with a message of its own, not the
    -- last failure's.
    assert(not x:define("bad name!"))
    local r, um, code = x:unsubscribe(12345)
    check("unsubscribe of an unknown id says so", r == nil and
          um == "no subscription 12345" and code == "ENOTFOUND")
    x:close()
  end

  -- Each engine call raises the errors of the callbacks it ran: a
  -- subscriber calling the engine after another one failed is not handed
  -- that failure (it could swallow it); the dispatch raises it.
  do
    local x = assert(lplug.new())
    local inner
    x:subscribe("t", function() error("first subscriber failed") end)
    x:subscribe("t", function() inner = { pcall(x.dispatch, x) } end)
    assert(x:emit("t"))
    local okd, m = pcall(x.dispatch, x)
    check("a callback's engine call is not raised another callback's error",
          inner ~= nil and inner[1] == true and inner[2] == 0)
    check("and the dispatch that ran both raises it",
          not okd and m:find("first subscriber failed", 1, true) ~= nil)
    x:close()
  end
end
