-- attack: a handler turns subscriptions on and off in a loop while its event is delivered; dead subscriptions were kept until the dispatch ended and each off() scanned them all (quadratic host work, host memory growing past the plugin's limit)
-- contained: during a dispatch the dead are dropped once they outnumber the live and off() finds its subscription by bisection; the handler ends on its budget (tests/unit/test_events.c dispatches this plugin's events and checks the subscriptions' array; the runner checks the attack call itself)
-- expect: run OK
local events = require "lplug.events"
local hooks = require "lplug.hooks"
local pattern = ("a"):rep(63) .. "." .. ("b"):rep(63)
local f = function() end
events.on("x.go", function()
  while true do events.on(pattern, f):off() end
end)
hooks.on("attack", function(v)
  for _ = 1, 4 do events.emit("x.go", {}) end
  return v
end)
