-- attack: an endless loop in the main chunk, at load
-- contained: the main chunk runs under the same limits: the load fails
-- expect: load ECPU loading
require "lplug.hooks"
while true do end
