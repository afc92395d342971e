-- docs/plugin-guide.md, lplug.log: the message the host receives.
local test = require "lplug.test"
it("formats as string.format does", function()
  local h <close> = test.load()
  assert.same({ { level = "info", plugin = "example",
                  message = "seen 3 records from web-1" } }, h:logs())
end)
