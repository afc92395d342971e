-- attack: writes storage in the main chunk, then fails loading
-- contained: the failed load keeps nothing
-- expect: load ERUNTIME load failed on purpose
require "lplug.hooks"
local storage = require "lplug.storage"
storage.set("pwned", true)
error("load failed on purpose", 0)
