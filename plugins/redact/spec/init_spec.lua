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

  it("masks card numbers, with or without separators", function()
    assert.equals("paid <card> and <card>",
                  h:record("paid 4111 1111 1111 1111 and 5500-0000-0000-0004").line)
    assert.equals("<card>", h:record("4111111111111111").line)
  end)

  it("does not take long numbers or dates for cards", function()
    assert.equals("order 12345678901234567890 on 2026-11-24",
                  h:record("order 12345678901234567890 on 2026-11-24").line)
  end)

  it("leaves other lines alone", function()
    local out = h:record("nothing here")
    assert.same({ line = "nothing here", n = 1 }, out)
  end)

end)
