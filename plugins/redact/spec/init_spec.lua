local test = require "lplug.test"

describe("redact", function()
  local h
  before_each(function() h = test.load() end)
  after_each(function() h:close() end)

  it("masks e-mail addresses", function()
    local out = h:record("mail alice@example.com now")
    assert.equals("mail <email> now", out.line)
    assert.equals(1, out.redacted)
  end)

  it("masks IPv4 addresses", function()
    assert.equals("from <ip>:8080", h:record("from 10.0.0.12:8080").line)
  end)

  it("leaves other lines alone", function()
    local out = h:record("nothing here")
    assert.same({ line = "nothing here", n = 1 }, out)
  end)

end)
