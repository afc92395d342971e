describe("slow", function()
  it("compares strings of NUL bytes", function()
    -- each `<` is one instruction making one strcoll per byte: 100,000
    -- instructions of them take about 20 s
    local a = ("\0"):rep(100000) .. "a"
    local b = ("\0"):rep(100000) .. "b"
    while true do local _ = a < b end
  end)
  it("drives a busy plugin for longer than its backstop", function()
    -- the plugin's time is its own (1 s a record, under its own limits),
    -- not the test's: six records take longer than the test's 5 s
    local test = require "lplug.test"
    local h = test.load()
    for i = 1, 6 do h:record("busy") end
    h:close()
  end)
end)
