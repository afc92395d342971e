-- Options of new that both bindings refuse, with the message each raises
-- (tests/lua/host.lua checks the Lua 5.4 module, tests/lua/ffi_host.lua
-- the LuaJIT wrapper): the numbers of lplug_config are integers within
-- their C type, or new raises naming the option.
return {
  { { memory_limit = -1 },
    "bad option 'memory_limit' to 'new' (-1 is out of range)" },
  { { memory_limit = 1.5e6 + 0.5 },
    "bad option 'memory_limit' to 'new' (integer expected, got number)" },
  { { memory_limit = "4MB" },
    "bad option 'memory_limit' to 'new' (integer expected, got string)" },
  { { instruction_limit = 2.7 },
    "bad option 'instruction_limit' to 'new' (integer expected, got number)" },
  { { instruction_limit = 1e30 },
    "bad option 'instruction_limit' to 'new' (integer expected, got number)" },
  { { time_limit = 0 / 0 },
    "bad option 'time_limit' to 'new' (integer expected, got number)" },
  { { failure_limit = 1e10 },
    "bad option 'failure_limit' to 'new' (10000000000 is out of range)" },
  { { storage_quota = -4096 },
    "bad option 'storage_quota' to 'new' (-4096 is out of range)" },
  { { event_queue_bytes = {} },
    "bad option 'event_queue_bytes' to 'new' (integer expected, got table)" },
  { { on_log = "print" },
    "bad option 'on_log' to 'new' (function expected, got string)" },
}
