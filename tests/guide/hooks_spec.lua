-- docs/plugin-guide.md, lplug.hooks: the handler is off again at the end.
local test = require "lplug.test"
it("registers with options, then off", function()
  local h <close> = test.load()
  local out = h:record("a secret")
  assert.equals("a secret", out.line)
  assert.is_nil(out.seen)
  assert.same({}, h:errors())
end)
