-- attack: 256 subscriptions to a pattern of 64 one-letter words, and events whose topics differ from it only in the last word: lplug_dispatch matches every queued event against every subscription, word by word (450 ns a pair), and an emit was charged 100 instructions whatever the subscriptions, so filling the queue with 10,000 such events (1.1M instructions) made the next dispatch take 1.15 s
-- contained: an emit pays for matching its topic against the live subscriptions (and a subscription for the events queued), 4 bytes of both names an instruction: about 17,000 instructions an emit here, so the budget holds about 57 of them; the plugin counts its emits and raises after 2,000 (all 2,000 fit before)
-- expect: run ECPU
-- modes: instructions
local events = require "lplug.events"
local hooks = require "lplug.hooks"
local words = {}
for i = 1, 63 do words[i] = "a" end
local stem = table.concat(words, ".")
local function never() end
for _ = 1, 256 do events.on(stem .. ".x", never) end
hooks.on("attack", function(v)
  local topic = stem .. ".y"
  for _ = 1, 2000 do events.emit(topic) end
  error("2,000 emits within the budget")
end)
