local x = 1

local function f(
