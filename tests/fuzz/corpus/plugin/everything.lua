local hooks = require "lplug.hooks"
local events = require "lplug.events"
local storage = require "lplug.storage"
local log = require "lplug.log"
local json = require "lplug.json"
local time = require "lplug.time"
local config = require "lplug.config"
local state = { n = 0 }
hooks.on("t", function(rec)
  state.n = state.n + 1
  local n = storage.incr("seen")
  storage.set("last", { n = n, line = rec.line, tags = rec.tags })
  local back = storage.get("last")
  rec.text = (rec.line or ""):gsub("%S+@%S+", "<email>")
  rec.json = json.encode(back)
  rec.parsed = json.decode(rec.json)
  rec.level = config.level
  rec.t = time.now and time.now() or 0
  events.emit("fuzz.tick", { n = n })
  log.info("seen " .. n)
  for k in pairs(storage.keys()) do rec[k] = true end
  return rec
end, { priority = 10 })
hooks.on("u", function(rec) return rec, hooks.STOP end)
events.on("fuzz.*", function(payload, topic) state.last = payload end)
return {
  init = function() storage.set("init", true) end,
  save = function() return state end,
  restore = function(s) state = s end,
  shutdown = function() storage.delete("init") end,
}
