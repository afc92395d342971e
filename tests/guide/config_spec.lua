-- docs/plugin-guide.md, lplug.config: threshold 2 (the marker's schema).
local test = require "lplug.test"
it("reads its config", function()
  local h <close> = test.load()
  assert.is_nil(h:record("a").alert)
  assert.is_nil(h:record("b").alert)
  assert.is_true(h:record("c").alert)
  assert.equals("1\ta.example", h:logs()[1].message)
  local h2 <close> = test.load{ config = { threshold = 0 } }
  assert.is_true(h2:record("a").alert)
end)
