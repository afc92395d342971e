-- attack: load fed 50 KB of blanks by a reader for ever (the lexer runs in C)
-- contained: each piece is charged as it is compiled
-- expect: run ECPU
local hooks = require "lplug.hooks"

hooks.on("attack", function(v)
  local piece = (" "):rep(50000)
  load(function() return piece end)
end)
