-- docs/plugin-guide.md, Lifecycle: a main file returning callbacks.
local test = require "lplug.test"
it("loads with its callbacks and counts records", function()
  local h <close> = test.load()
  assert.equals("active", h:state())
  h:record("a"); h:record("b")
  h:restart()
  assert.equals("active", h:state())
  assert.same({}, h:errors())
end)
