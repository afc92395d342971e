-- sloppy: counts records in storage, which plugin.yaml does not declare
local hooks = require "lplug.hooks"
local storage = require "lplug.storage"
hooks.on("record", function(rec) storage.incr("records") end)
