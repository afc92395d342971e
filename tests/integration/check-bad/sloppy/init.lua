local hooks = require "lplug.hooks"
local events = require "lplug.events"
local storage = require("lplug.storage")
-- hooks.on("commented", f) is not code
hooks.on("record", function(rec) end)
hooks.on("audit", function(rec) end)
events.emit("sloppy.ok", {})
events.emit("other.topic", {})
events.emit("sloppy." .. "built", {})
local s = [[ require "lplug.log" ]]
