-- attack: json.encode of an array of 1,000 empty tables in a loop: each table costs the host a walk, a lookup among the tables already written and its text (about 0.1 us) for the 7 encoded and 3 written bytes it was charged by, about 1 instruction, so a 4 MB plugin's loop of 40,000 tables ran 0.9 s on the default budget of 10M instructions (plain Lua spends it in 40 ms)
-- contained: a value leaving a plugin is charged its bytes and VALUE_ITEM_WORK (64 bytes, 8 instructions) for each value walked; the plugin counts its encodes and raises after 400 (about 108 fit in the budget now, 800 did)
-- expect: run ECPU
-- modes: instructions
local json = require "lplug.json"
local hooks = require "lplug.hooks"
local t = {}
for i = 1, 1000 do t[i] = {} end
hooks.on("attack", function(v)
  for _ = 1, 400 do json.encode(t) end
  error("400 encodes of 1,000 tables within the budget")
end)
