describe("bad", function()
  it("compares", function() assert.equals(1, 2) end)
  it("compares tables", function() assert.same({ a = 1 }, { a = "1" }) end)
  it("expects an error", function() assert.has_error(function() end) end)
  it("loops", function() while true do end end)
  it("passes", function() assert.is_true(true) end)
  it("raises", function() error("oops") end)
  it("raises a table", function() error({ message = "bad thing" }) end)
  it("loads hosts for ever", function()
    local test = require "lplug.test"
    while true do test.load():close() end
  end)
  it("grows", function()
    local s = ("x"):rep(1024 * 1024)
    while true do s = s .. s end
  end)
end)
