local test = require "lplug.test"

describe("alert", function()
  it("warns on every ERROR the counter reports", function()
    local h <close> = test.load()
    h:emit("counter.error", { level = "ERROR", count = 1, record = 7 })
    assert.same({ { level = "warn", plugin = "alert",
                    message = "record 7 is ERROR number 1 (counted across runs)" } },
                h:logs())
  end)

  it("warns on every Nth ERROR when configured", function()
    local h <close> = test.load{ config = { every = 2 } }
    for i = 1, 4 do h:emit("counter.error", { count = i, record = i }) end
    assert.equals(2, #h:logs())
    assert.matches("ERROR number 4", h:logs()[2].message)
  end)

  it("raises an alert when server errors reach the threshold", function()
    local h <close> = test.load{ config = { threshold = 2 } }
    h:emit("counter.status", { status = 500, count = 1, record = 3 })
    assert.same({}, h:events("alert.*"))
    h:emit("counter.status", { status = 503, count = 2, record = 9 })
    local alerts = h:events("alert.*")
    assert.equals(1, #alerts)
    assert.equals(2, alerts[1].payload.count)
    assert.equals("number", type(alerts[1].payload.at))
    assert.equals("2 server errors so far (last: 503 at record 9)",
                  h:logs()[1].message)
  end)

  it("hears the counter plugin itself", function()
    local h <close> = test.load{ with = { "../counter" } }
    h:record("2026-11-24T08:00:11Z ERROR payments: timeout")
    assert.matches("record 1 is ERROR number 1", h:logs()[1].message)
  end)
end)
