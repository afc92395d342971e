require("lplug.hooks").on("record", function(rec) end, { before = "y" })
