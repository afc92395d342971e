local test = require "lplug.test"

describe("parse", function()
  local h
  before_each(function() h = test.load() end)
  after_each(function() h:close() end)

  it("splits a combined-log line into fields", function()
    local out = h:record('203.0.113.7 - bob [24/Nov/2026:08:00:01 +0000] '
      .. '"GET /orders/7?x=1 HTTP/1.1" 404 153 "-" "curl/8.5"')
    assert.same({ ip = "203.0.113.7", user = "bob",
                  time = "24/Nov/2026:08:00:01 +0000", method = "GET",
                  path = "/orders/7?x=1", protocol = "HTTP/1.1",
                  status = 404, bytes = 153, agent = "curl/8.5" }, out.fields)
  end)

  it("counts '-' bytes as 0", function()
    local out = h:record('10.0.0.1 - - [24/Nov/2026:08:00:01 +0000] '
      .. '"HEAD / HTTP/1.1" 304 - "https://example.com/" "probe"')
    assert.equals(0, out.fields.bytes)
    assert.equals("https://example.com/", out.fields.referer)
    assert.is_nil(out.fields.user)
  end)

  it("decodes JSON lines", function()
    local out = h:record('{"status": 500, "path": "/pay"}')
    assert.same({ status = 500, path = "/pay" }, out.fields)
  end)

  it("leaves other lines alone", function()
    assert.same({ line = "just text", n = 1 }, h:record("just text"))
    assert.same({ line = "{broken", n = 2 }, h:record("{broken"))
    assert.same({}, h:errors())
  end)
end)
