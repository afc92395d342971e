local test = require "lplug.test"
local services = require "data.services"   -- the spec can read it too

describe("enrich", function()
  it("adds service, team and class", function()
    local h <close> = test.load()
    local out = h:run("record", { line = "x", fields = {
      path = "/api/orders/17", status = 503 } })
    assert.equals("orders", out.fields.service)
    assert.equals("commerce", out.fields.team)
    assert.equals("server error", out.fields.class)
  end)

  it("falls back to the catch-all prefix", function()
    local h <close> = test.load()
    local out = h:run("record", { line = "x", fields = { path = "/about" } })
    assert.equals("web", out.fields.service)
    assert.equals("/", services[#services].prefix)
  end)

  it("passes records without fields", function()
    local h <close> = test.load()
    assert.same({ line = "plain", n = 1 }, h:record("plain"))
  end)
end)
