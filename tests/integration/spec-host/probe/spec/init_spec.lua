local test = require "lplug.test"

describe("lplug.test", function()
  it("runs records and other hooks", function()
    local h = test.load{ hooks = {"record", "check"} }
    assert.equals("seen", h:record("x").tag)
    assert.equals(42, h:run("check", 21))
    assert.equals("probe", h:name())
    h:close()
  end)

  it("may leave its hosts open", function()
    local keep = {}
    for i = 1, 16 do keep[i] = test.load() end  -- the most open at once
  end)

  it("gets them closed when it ends, for the next test", function()
    local h <close> = test.load()
    assert.equals("probe", h:name())
  end)

  it("hides its hosts' metatable, so that no spec can give it a __gc", function()
    local h <close> = test.load()
    assert.equals("lplug.test host", getmetatable(h))
  end)

  it("passes config", function()
    local h <close> = test.load{ config = { tag = "custom" } }
    assert.equals("custom", h:record("x").tag)
  end)

  it("reports a bad config value", function()
    assert.has_error(function() test.load{ config = { nope = 1 } } end,
                     "config.nope")
  end)

  it("refuses an option it does not know, naming it", function()
    assert.has_error(function() test.load{ confg = { tag = "x" } } end,
                     "test.load: unknown option 'confg' (options: config, grants,")
    assert.has_error(function() test.load{ "record" } end,
                     "test.load: options are named, not a number key")
  end)

  it("refuses an option's value of the wrong kind, naming the key", function()
    assert.has_error(function() test.load{ instructions = "5M" } end,
                     "test.load: instructions: expected a number, got string")
    assert.has_error(function() test.load{ instructions = 0 } end,
                     "test.load: instructions: expected a whole number above 0")
    assert.has_error(function() test.load{ memory = 1.5 } end,
                     "test.load: memory: expected a whole number above 0")
    assert.has_error(function() test.load{ fail_closed = 1 } end,
                     "test.load: fail_closed: expected a boolean, got number")
    assert.has_error(function() test.load{ hooks = { "record", 7 } } end,
                     "test.load: hooks[2]: expected a string, got number")
    local h <close> = test.load{ instructions = 5e6, memory = 8388608 }
    assert.equals("seen", h:record("x").tag)
  end)

  it("captures events, logs and errors", function()
    local h <close> = test.load()
    h:record("a")
    h:record("b")
    local ev = h:events()
    assert.equals(2, #ev)
    assert.same({ topic = "probe.seen", payload = { n = 2 }, source = "probe" },
                ev[2])
    assert.is_true(h:emit("ping", { who = "spec" }))
    assert.same({ { level = "info", plugin = "probe", message = "pong spec" } },
                h:logs())
    local out = h:record("boom")
    assert.equals("boom", out.line)      -- fail-open: the record goes on
    local errs = h:errors()
    assert.equals(1, #errs)
    assert.equals("ERUNTIME", errs[1].code)
    assert.matches("cannot handle boom", errs[1].message)
    h:clear()
    assert.same({}, h:errors())
  end)

  it("fails closed when asked", function()
    local h <close> = test.load{ fail_closed = true }
    local out, err = h:record("boom")
    assert.is_nil(out)
    assert.matches("cannot handle boom", err)
  end)

  it("reads storage, which a restart keeps", function()
    local h <close> = test.load()
    h:record("a")
    assert.equals(1, h:storage("records"))
    h:restart()
    h:record("b")
    assert.same({ records = 2 }, h:storage())
    assert.equals(2, h:stats().calls)  -- main chunk + one record, afresh
    assert.equals("active", h:state())
  end)

  it("grants only what grants = lists", function()
    assert.has_error(function()
      test.load{ grants = { hooks = {"record"} } }
    end, "storage")
  end)

  it("offers only lplug.test to specs", function()
    assert.has_error(function() require "lplug.storage" end,
                     "a spec has only lplug.test")
  end)

  it("can require the plugin's own files", function()
    assert.has_error(function() require "nope" end, "no file 'nope.lua'")
  end)
end)

describe("assert", function()
  it("compares", function()
    assert.equals(1, 1)
    assert.are.equal("a", "a")
    assert.not_equals(1, 2)
    assert.same({ 1, { a = 2 } }, { 1, { a = 2 } })
    assert.are.same({}, {})
    assert.is_true(true)
    assert.is_false(false)
    assert.is_nil(nil)
    assert.is_not_nil(0)
    assert.truthy(0)
    assert.falsy(nil)
    assert.matches("^a%d$", "a1")
    assert.has_no_error(function() end)
    assert(true)
  end)
end)
