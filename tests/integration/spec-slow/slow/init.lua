local s = ("\0"):rep(1000000)
require "lplug.hooks".on("record", function(r)
  -- about 150 instructions a record, but a second or so (each `<` makes one
  -- strcoll per byte)
  if r.line == "busy" then for i = 1, 150 do local _ = s < s end end
  return r
end)
