local test = require "lplug.test"

local function rec(ip) return { line = ip, fields = { ip = ip } } end

describe("sample", function()
  it("keeps everything by default", function()
    local h <close> = test.load()
    for _ = 1, 3 do assert.equals("a", h:run("record", rec("a")).line) end
  end)

  it("keeps one in N per key", function()
    local h <close> = test.load{ config = { every = 3 } }
    local kept = {}
    for i = 1, 7 do
      local ip = i % 2 == 0 and "b" or "a"
      local out = h:run("record", rec(ip))
      if out then kept[#kept + 1] = ip .. i end
    end
    assert.same({ "a1", "b2", "a7" }, kept)
  end)

  it("samples by the configured key, and passes records without it", function()
    local h <close> = test.load{ config = { every = 2, key = "user" } }
    assert.truthy(h:run("record", { line = "x", fields = { user = "u" } }))
    assert.is_false(h:run("record", { line = "x", fields = { user = "u" } }))
    assert.equals("plain", h:record("plain").line)
  end)

  it("refuses a bad setting", function()
    assert.has_error(function() test.load{ config = { every = 0 } } end,
                     "config.every: 0 is under the minimum 1")
  end)
end)
