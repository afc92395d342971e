-- attack: a memory bomb in the main chunk, at load
-- contained: the load fails with the memory error
-- expect: load EMEM loading
require "lplug.hooks"
local t = {}
for i = 1, 1e9 do t[i] = { i } end
