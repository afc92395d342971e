local test = require "lplug.test"

describe("number", function()
  it("prefixes each line with its input line number", function()
    local h <close> = test.load()
    assert.equals("    1  first", h:record("first").line)
    assert.equals("    2  second", h:record("second").line)
  end)
end)
