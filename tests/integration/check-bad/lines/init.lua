--[[ a long
comment
spanning lines ]]
local hooks = require "lplug.hooks"
local s = [[
require "lplug.storage"
]]
hooks.on("record", function(rec) return rec end)
require "lplug.events"
local t = a[b[1]]
