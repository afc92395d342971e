require("lplug.hooks").on("record", function(rec) end, { before = "x" })
