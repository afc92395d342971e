-- docs/plugin-guide.md, lplug.storage: what the example leaves stored.
local test = require "lplug.test"
it("sets, gets, deletes, counts and lists", function()
  local h <close> = test.load()
  assert.same({ hits = 1, bytes = 512 }, h:storage())
  assert.same({}, h:errors())
end)
