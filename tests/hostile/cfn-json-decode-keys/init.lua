-- attack: json.decode of an object of 1,000 keys in a loop: each key costs the host a sort entry, a string interned and a table slot set (about 0.5 us), and the text was charged 1 instruction per 8 bytes, about 1 per key, so a 4 MB plugin's loop of 20,000 keys ran 4.4 s on the default budget of 10M instructions (plain Lua spends it in 40 ms)
-- contained: a decoded value is charged its bytes and VALUE_ITEM_WORK (64 bytes, 8 instructions) for each value made, a key included; the plugin counts its decodes and raises after 300 (about 54 fit in the budget now, 740 did)
-- expect: run ECPU
-- modes: instructions
local json = require "lplug.json"
local hooks = require "lplug.hooks"
local parts = {}
for i = 1, 1000 do parts[i] = ('"k%d":%d'):format(i, i) end
local text = "{" .. table.concat(parts, ",") .. "}"
parts = nil
hooks.on("attack", function(v)
  for _ = 1, 300 do json.decode(text) end
  error("300 decodes of 1,000 keys within the budget")
end)
