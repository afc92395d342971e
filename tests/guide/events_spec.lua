-- docs/plugin-guide.md, lplug.events: the event emitted, the subscriber.
local test = require "lplug.test"
it("emits counter.tick and takes alert.*", function()
  local h <close> = test.load()
  assert.same({ { topic = "counter.tick", payload = { n = 3 }, source = "example" } },
              h:events())
  assert.is_true(h:emit("alert.high", { level = 1 }))
  assert.same({}, h:errors())
end)
