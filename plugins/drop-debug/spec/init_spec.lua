local test = require "lplug.test"

describe("drop-debug", function()
  it("drops DEBUG lines and keeps the rest", function()
    local h <close> = test.load()
    assert.is_false(h:record("2026-11-24T08:00:02Z DEBUG db: pool size 8"))
    assert.equals("2026-11-24T08:00:01Z INFO  api: up",
                  h:record("2026-11-24T08:00:01Z INFO  api: up").line)
  end)

  it("stops the chain, so no later plugin sees a DEBUG line", function()
    local h <close> = test.load{ with = { "../number" } }
    assert.is_false(h:record("x DEBUG y"))
    assert.equals("    2  x INFO y", h:record("x INFO y").line)
  end)
end)
