local test = require "lplug.test"

describe("counter", function()
  it("counts levels in storage and tells about WARN and ERROR", function()
    local h <close> = test.load()
    h:record("2026-11-24T08:00:01Z INFO  api: up")
    h:record("2026-11-24T08:00:02Z ERROR db: down")
    assert.same({ ["level:INFO"] = 1, ["level:ERROR"] = 1 }, h:storage())
    assert.same({ { topic = "counter.error", source = "counter",
                    payload = { level = "ERROR", count = 1, record = 2 } } },
                h:events())
  end)

  it("counts status codes of parsed records; 5xx are events", function()
    local h <close> = test.load()
    h:run("record", { line = "x", n = 1, fields = { status = 200 } })
    h:run("record", { line = "x", n = 2, fields = { status = 503 } })
    assert.equals(1, h:storage("status:200"))
    assert.equals("counter.status", h:events()[1].topic)
    assert.equals(503, h:events()[1].payload.status)
  end)

  it("keeps its counts across runs", function()
    local h <close> = test.load()
    h:record("t ERROR one")
    h:restart()
    h:record("t ERROR two")
    assert.equals(2, h:storage("level:ERROR"))
    assert.equals(2, h:events()[2].payload.count)
  end)

  it("ignores lines without a level", function()
    local h <close> = test.load()
    h:record("no level here")
    assert.same({}, h:storage())
  end)
end)
