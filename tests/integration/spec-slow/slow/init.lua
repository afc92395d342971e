require "lplug.hooks".on("record", function() end)
