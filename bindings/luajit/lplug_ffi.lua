-- lplug_ffi.lua -- the lplug engine for LuaJIT, through the FFI.
--
-- The ffi.cdef below declares the C API of include/lplug.h, statement by
-- statement (tests/lua/cdef_check.lua checks that it matches the header;
-- only the error enum, made by a macro there, is left out: codes are read
-- with lplug_errname).  Above it sits a thin wrapper in the style of the
-- Lua 5.4 module: engines with methods, Lua tables in and out (copied
-- through the value codec), and errors as nil, message, code name.
--
-- The library is liblplug.so.0, found by the dynamic loader, or the file
-- named by the environment variable LPLUG_LIBRARY.
local ffi = require "ffi"

ffi.cdef [[
typedef struct lplug_engine lplug_engine;
const char *lplug_version(void);
int lplug_version_number(void);
int lplug_parse_size(const char *text, size_t *out);
int lplug_parse_count(const char *text, long long *out);
const char *lplug_strerror(int code);
const char *lplug_errname(int code);
typedef struct lplug_value lplug_value;
typedef struct lplug_builder lplug_builder;
enum lplug_type {
  LPLUG_TNONE = -1, 
  LPLUG_TNIL = 0,
  LPLUG_TBOOLEAN = 1,
  LPLUG_TINTEGER = 2,
  LPLUG_TFLOAT = 3,
  LPLUG_TSTRING = 4,
  LPLUG_TTABLE = 5
};
lplug_value *lplug_value_new(void);
void lplug_value_free(lplug_value *v);
lplug_value *lplug_value_copy(const lplug_value *v);
int lplug_value_from_json(lplug_engine *e, const char *json,
  size_t len, lplug_value **out);
char *lplug_value_to_json(const lplug_value *v, size_t *len);
const void *lplug_value_bytes(const lplug_value *v, size_t *len);
int lplug_value_from_bytes(const void *bytes, size_t len, lplug_value **out);
int lplug_value_type(const lplug_value *v, size_t at);
int lplug_value_boolean(const lplug_value *v, size_t at);
long long lplug_value_integer(const lplug_value *v, size_t at, int *ok);
double lplug_value_float(const lplug_value *v, size_t at, int *ok);
const char *lplug_value_string(const lplug_value *v, size_t at, size_t *len);
int lplug_value_field(const lplug_value *v, size_t at, const char *key,
  size_t *out);
int lplug_value_index(const lplug_value *v, size_t at, long long i,
  size_t *out);
int lplug_value_next(const lplug_value *v, size_t at, size_t *iter,
  size_t *key, size_t *val);
size_t lplug_value_count(const lplug_value *v, size_t at);
lplug_builder *lplug_builder_new(void);
void lplug_builder_free(lplug_builder *b);
void lplug_build_nil(lplug_builder *b);
void lplug_build_boolean(lplug_builder *b, int x);
void lplug_build_integer(lplug_builder *b, long long x);
void lplug_build_float(lplug_builder *b, double x);
void lplug_build_string(lplug_builder *b, const char *s, size_t len);
void lplug_build_table(lplug_builder *b);
void lplug_build_end(lplug_builder *b);
int lplug_builder_finish(lplug_builder *b, lplug_value *v);
void lplug_free(void *p);
typedef void (*lplug_error_fn)(void *ud, const char *plugin, int code,
  const char *message, const char *traceback);
enum lplug_log_level {
  LPLUG_LOG_DEBUG = 0,
  LPLUG_LOG_INFO = 1,
  LPLUG_LOG_WARN = 2,
  LPLUG_LOG_ERROR = 3
};
typedef void (*lplug_log_fn)(void *ud, int level, const char *plugin,
  const char *message);
typedef void (*lplug_state_fn)(void *ud, const char *plugin, int from,
  int to, const char *reason);
typedef int (*lplug_grant_fn)(void *ud, const char *plugin,
  const char *capability, const char *item);
int lplug_grant_declared(void *ud, const char *plugin, const char *capability,
  const char *item);
typedef struct lplug_config {
  size_t memory_limit; 
  long long instruction_limit; 
  long long time_limit; 
  lplug_error_fn on_error; 
  lplug_log_fn on_log; 
  void *ud; 
  lplug_grant_fn grant; 
  int event_queue; 
  size_t event_queue_bytes; 
  const char *storage_path; 
  size_t storage_quota; 
  int storage_batch_ms; 
  lplug_state_fn on_state; 
  int failure_limit; 
} lplug_config;
lplug_engine *lplug_engine_new(const lplug_config *config);
void lplug_engine_free(lplug_engine *e);
const char *lplug_errmsg(const lplug_engine *e);
int lplug_load_plugin(lplug_engine *e, const char *dir);
int lplug_load_dir(lplug_engine *e, const char *dir);
int lplug_load_dirs(lplug_engine *e, const char *const *dirs, int n);
int lplug_plugin_count(const lplug_engine *e);
const char *lplug_plugin_name(const lplug_engine *e, int i);
const char *lplug_plugin_dir(const lplug_engine *e, const char *name);
typedef struct lplug_stats {
  unsigned long long calls; 
  unsigned long long errors; 
  unsigned long long runtime_errors; 
  unsigned long long cpu_errors; 
  unsigned long long memory_errors; 
  unsigned long long value_errors; 
  unsigned long long denials; 
  unsigned long long instructions; 
  long long instruction_limit; 
  long long time_limit; 
  long long backstop; 
  size_t memory; 
  size_t memory_peak; 
  size_t memory_limit; 
  long long storage_bytes; 
  size_t storage_quota; 
} lplug_stats;
int lplug_plugin_stats(const lplug_engine *e, const char *name,
  lplug_stats *out);
enum lplug_plugin_state {
  LPLUG_STATE_LOADED = 1,
  LPLUG_STATE_ACTIVE = 2,
  LPLUG_STATE_FAILED = 3,
  LPLUG_STATE_DISABLED = 4,
  LPLUG_STATE_UNLOADED = 5
};
const char *lplug_state_name(int state);
int lplug_plugin_state(const lplug_engine *e, const char *name);
int lplug_plugin_disable(lplug_engine *e, const char *name);
int lplug_plugin_enable(lplug_engine *e, const char *name);
int lplug_plugin_unload(lplug_engine *e, const char *name);
int lplug_reload(lplug_engine *e, const char *name);
int lplug_plugin_configure(lplug_engine *e, const char *plugin,
  const lplug_value *values);
typedef struct lplug_hook lplug_hook;
enum lplug_hook_flags {
  LPLUG_HOOK_FAIL_CLOSED = 1
};
int lplug_hook_define(lplug_engine *e, const char *name, int flags,
  lplug_hook **out);
lplug_hook *lplug_hook_find(lplug_engine *e, const char *name);
int lplug_hook_run(lplug_engine *e, const char *name, lplug_value *v);
int lplug_hook_call(lplug_hook *h, lplug_value *v);
int lplug_hook_handlers(const lplug_hook *h);
int lplug_hook_count(const lplug_engine *e);
lplug_hook *lplug_hook_at(lplug_engine *e, int i);
const char *lplug_hook_name(const lplug_hook *h);
typedef struct lplug_handler_info {
  const char *plugin;
  int priority;
  const char *const *before; 
  int nbefore;
  const char *const *after; 
  int nafter;
} lplug_handler_info;
int lplug_hook_handler_info(const lplug_hook *h, int i,
  lplug_handler_info *out);
typedef void (*lplug_event_fn)(void *ud, const char *topic,
  const lplug_value *payload,
  const char *source);
long long lplug_event_subscribe(lplug_engine *e, const char *pattern,
  lplug_event_fn fn, void *ud);
int lplug_event_unsubscribe(lplug_engine *e, long long id);
int lplug_event_emit(lplug_engine *e, const char *topic,
  const lplug_value *payload);
int lplug_dispatch(lplug_engine *e, int max_events);
int lplug_event_pending(const lplug_engine *e);
int lplug_storage_flush(lplug_engine *e);
typedef struct lplug_host lplug_host;
int lplug_host_load(const char *path, lplug_host **out, char *err,
  size_t errsize);
void lplug_host_free(lplug_host *h);
void lplug_host_configure(const lplug_host *h, lplug_config *config);
int lplug_host_grant(void *ud, const char *plugin, const char *capability,
  const char *item);
int lplug_host_apply_config(const lplug_host *h, lplug_engine *e);
typedef void (*lplug_problem_fn)(void *ud, const char *problem);
int lplug_host_unknown_plugins(const lplug_host *h,
  const char *const *plugins, int n, lplug_problem_fn fn, void *ud);
int lplug_host_plugin_dirs(const lplug_host *h);
const char *lplug_host_plugin_dir(const lplug_host *h, int i);
int lplug_host_fail_closed(const lplug_host *h);

enum lplug_spec_result {
  LPLUG_SPEC_FAILED = 0, LPLUG_SPEC_PASSED = 1, LPLUG_SPEC_PENDING = 2
};
typedef void (*lplug_spec_fn)(void *ud, const char *test, int result,
                              const char *message);
typedef struct lplug_spec_options {
  long long instruction_limit;
  size_t memory_limit;
  lplug_spec_fn on_result;
  lplug_log_fn on_log;
  void *ud;
} lplug_spec_options;
int lplug_spec_run(const char *plugin_dir, const char *spec,
                   const lplug_spec_options *options, int *passed,
                   int *failed, char *err, size_t errsize);
int lplug_check_plugin(const char *dir, const lplug_host *host,
                       lplug_problem_fn fn, void *ud);
int lplug_manifest_name(const char *dir, char *name, size_t size);
]]

-- LuaJIT exports the Lua 5.1 API under the names Lua 5.4 uses (lua_pcall,
-- luaL_newstate, ...).  Loaded the usual way, liblplug would bind to
-- those and run its plugin states on the wrong Lua.  RTLD_DEEPBIND makes
-- liblplug and the Lua 5.4 it needs look symbols up in their own scope
-- first; ffi.load then finds the library already loaded.  The handle is
-- kept for the life of the process, as ffi.load's is.
ffi.cdef "void *dlopen(const char *file, int mode);"
local RTLD_NOW, RTLD_DEEPBIND = 0x2, 0x8   -- glibc
local path = os.getenv("LPLUG_LIBRARY") or "liblplug.so.0"
if ffi.os == "Linux" and ffi.C.dlopen(path, RTLD_NOW + RTLD_DEEPBIND) == nil then
  error("cannot load " .. path .. " (set LPLUG_LIBRARY to its path)")
end
local C = ffi.load(path)
local M = { C = C, version = ffi.string(C.lplug_version()),
            version_number = C.lplug_version_number() }

local MAX_DEPTH = 100   -- LPLUG_MAX_DEPTH

-- {====================================================== values

-- Writes a Lua value into builder b; raises on what cannot cross.
local function build(b, x, depth)
  local t = type(x)
  if t == "nil" then C.lplug_build_nil(b)
  elseif t == "boolean" then C.lplug_build_boolean(b, x and 1 or 0)
  elseif t == "number" then
    if x == math.floor(x) and x >= -2^53 and x <= 2^53 then
      C.lplug_build_integer(b, x)   -- LuaJIT numbers are doubles
    else
      C.lplug_build_float(b, x)
    end
  elseif t == "string" then C.lplug_build_string(b, x, #x)
  elseif t == "table" then
    if depth >= MAX_DEPTH then error("tables nested too deep (or a cycle)", 0) end
    C.lplug_build_table(b)
    for k, v in pairs(x) do
      local kt = type(k)
      if kt ~= "string" and kt ~= "number" and kt ~= "boolean" then
        error("a table key that is not a string, number or boolean", 0)
      end
      build(b, k, depth + 1)
      build(b, v, depth + 1)
    end
    C.lplug_build_end(b)
  else
    error("a " .. t .. " cannot cross into a plugin", 0)
  end
end

-- A new lplug_value holding a copy of x, freed by the collector unless
-- the caller frees it first.
local function tovalue(x)
  local v = ffi.gc(C.lplug_value_new(), C.lplug_value_free)
  local b = ffi.gc(C.lplug_builder_new(), C.lplug_builder_free)
  if v == nil or b == nil then error("not enough memory") end
  local ok, err = pcall(build, b, x, 0)
  local rc = C.lplug_builder_finish(b, v)   -- also resets after misuse
  C.lplug_builder_free(ffi.gc(b, nil))
  if not ok then error(err, 3) end
  if rc ~= 0 then error(ffi.string(C.lplug_strerror(rc)), 3) end
  return v
end

local function free(v) C.lplug_value_free(ffi.gc(v, nil)) end

local len = ffi.new("size_t[1]")

-- A Lua copy of the value at position `at` of v.
local function fromvalue(v, at)
  local t = C.lplug_value_type(v, at)
  if t == C.LPLUG_TBOOLEAN then return C.lplug_value_boolean(v, at) ~= 0
  elseif t == C.LPLUG_TINTEGER then return tonumber(C.lplug_value_integer(v, at, nil))
  elseif t == C.LPLUG_TFLOAT then return C.lplug_value_float(v, at, nil)
  elseif t == C.LPLUG_TSTRING then
    local s = C.lplug_value_string(v, at, len)
    return ffi.string(s, len[0])
  elseif t == C.LPLUG_TTABLE then
    local r, pos = {}, ffi.new("size_t[3]")   -- iter, key, value
    while C.lplug_value_next(v, at, pos, pos + 1, pos + 2) ~= 0 do
      local k = fromvalue(v, pos[1])
      if k ~= nil then r[k] = fromvalue(v, pos[2]) end
    end
    return r
  end
  return nil
end

-- }======================================================

-- {====================================================== arguments

-- Every method checks its arguments before it calls the engine, as the
-- Lua 5.4 module's luaL_check* do: a raise then leaves nothing half done
-- (see enter), and it is reported at the method's caller (level 3: the
-- checker, the method, its caller) with the Lua 5.4 module's words.

local function argerror(n, method, msg)
  error("bad argument #" .. n .. " to '" .. method .. "' (" .. msg .. ")", 4)
end

-- x as an integer the way Lua 5.4's lua_tointegerx reads one: a number
-- with an integral value that fits 64 bits, or a string that converts to
-- one; nil otherwise.
local function tointeger(x)
  local t = type(x)
  if t ~= "number" and t ~= "string" then return nil end
  local n = tonumber(x)
  if n == nil or n ~= math.floor(n) or n < -2^63 or n >= 2^63 then
    return nil
  end
  return n
end

-- A name, topic, pattern or folder: a number is taken as its text; a NUL
-- byte is refused, since C would read "a\0b" as "a".
local function checkstring(x, n, method)
  local t = type(x)
  if t == "number" then return tostring(x) end
  if t ~= "string" then argerror(n, method, "string expected, got " .. t) end
  if x:find("\0", 1, true) then
    argerror(n, method, "string contains a NUL byte")
  end
  return x
end

local function checkinteger(x, n, method)
  local i = tointeger(x)
  if i ~= nil then return i end
  if type(x) == "number" then
    argerror(n, method, "number has no integer representation")
  end
  argerror(n, method, "number expected, got " .. type(x))
end

local function checkopttable(x, n, method)
  if x ~= nil and type(x) ~= "table" then
    argerror(n, method, "table expected, got " .. type(x))
  end
  return x
end

local INT_MIN, INT_MAX = -2^31, 2^31 - 1
local INT64_MIN, INT64_MAX = -2^63, 2^63   -- 2^63 itself is refused above

-- Option `name` of new: an integer from min to max, or nil when absent.
-- Raised at the caller of new (level 3: here, new, its caller).
local function option(opts, name, min, max)
  local x = opts[name]
  if x == nil then return nil end
  local n = tointeger(x)
  if n == nil then
    error("bad option '" .. name .. "' to 'new' (integer expected, got " ..
          type(x) .. ")", 3)
  end
  if n < min or n > max then
    error(("bad option '%s' to 'new' (%d is out of range)"):format(name, n), 3)
  end
  return n
end

-- The numbers of lplug_config, with the ranges of their C types.
local number_options = {
  { "memory_limit", 0, INT64_MAX },
  { "instruction_limit", INT64_MIN, INT64_MAX },
  { "time_limit", INT64_MIN, INT64_MAX },
  { "event_queue", INT_MIN, INT_MAX },
  { "event_queue_bytes", 0, INT64_MAX },
  { "storage_quota", 0, INT64_MAX },
  { "storage_batch_ms", INT_MIN, INT_MAX },
  { "failure_limit", INT_MIN, INT_MAX },
}

-- }======================================================

-- {====================================================== engines

local Engine = {}
Engine.__index = Engine

-- As the Lua 5.4 module names them: "lplug engine (0x...)", or
-- "lplug engine (closed)", so that a host can tell a closed one apart.
function Engine:__tostring()
  if self.e == nil then return "lplug engine (closed)" end
  return "lplug engine (" ..
         (tostring(ffi.cast("void *", self.e)):match("0x%x+") or "?") .. ")"
end

-- true, or nil, message, code name
local function result(self, rc)
  if rc >= 0 then return true end
  local msg = ffi.string(C.lplug_errmsg(self.e))
  if msg == "" then msg = ffi.string(C.lplug_strerror(rc)) end
  return nil, msg, ffi.string(C.lplug_errname(rc))
end

-- The engine of self; raised at the method's caller.  Called by the
-- method itself, first.
local function check(self)
  if getmetatable(self) ~= Engine then
    error("bad self (an lplug engine expected, got " .. type(self) .. ")", 3)
  end
  if self.e == nil then error("attempt to use a closed lplug engine", 3) end
  return self.e
end

-- Callbacks run inside the C call that caused them: their errors are
-- kept and raised once that call returns, never thrown through C, as the
-- Lua 5.4 module keeps them: a string (or number) as it was, anything else
-- as "error in a host callback".  They
-- hold the engine's small state table, not the engine: the functions the
-- module keeps for the C callbacks must not keep the engine alive too, or
-- it would never be collected.
local function guard(state, fn)
  return function(...)
    if state.quiet then return false end
    local ok, a = pcall(fn, ...)
    if not ok and state.cb_error == nil then
      local t = type(a)
      state.cb_error = (t == "string" or t == "number") and tostring(a)
                       or "error in a host callback"
    end
    return ok and a
  end
end

-- Around every C call that may run callbacks: close is refused from
-- inside one (the engine is running below it), and a kept callback error
-- is raised once the call returns, with no position added: it already
-- names the callback's.  Each call raises the errors of the callbacks it
-- ran, not those of an enclosing call (enter hands that one's back to be
-- kept meanwhile).  Nothing
-- may raise between enter and leave, or the engine would stay marked as
-- running and refuse close for good: arguments are checked and converted
-- before enter, and the C call between them is given only what the FFI
-- converts without complaint.
local function enter(self)   -- -> the enclosing call's kept error
  local state = self.ctl
  local outer = state.cb_error
  state.depth = state.depth + 1
  state.cb_error = nil
  return outer
end

local function leave(self, outer)   -- -> this call's kept error, if any
  local state = self.ctl
  local err = state.cb_error
  state.depth = state.depth - 1
  state.cb_error = outer
  return err
end

local function leave_or_raise(self, outer)
  local err = leave(self, outer)
  if err ~= nil then error(err, 0) end
end

local function str(p) return p ~= nil and ffi.string(p) or nil end

local levels = { [0] = "debug", "info", "warn", "error" }

-- LuaJIT has room for a few hundred C callbacks in the whole process
-- (896 on x86-64), and gives one back only when told to: one per engine
-- and per subscription would run out after a few hundred subscriptions,
-- or engines left to the collector.  So there is one callback of each
-- kind, made once and shared, and the C `ud` (a number, as a pointer)
-- says whose Lua function it calls.  An engine's entries go with it.
local hosts = {}         -- ud -> { grant = fn, on_error = fn, ... }
local subscribers = {}   -- ud -> fn
local last_ud = 0
local function new_ud() last_ud = last_ud + 1; return last_ud end
local function ud_of(p) return tonumber(ffi.cast("uintptr_t", p)) end

local trampolines = {
  grant = { "lplug_grant_fn", function(ud, plugin, cap, item)
    local fn = hosts[ud_of(ud)].grant
    return fn(ffi.string(plugin), ffi.string(cap), str(item)) and 1 or 0
  end },
  on_error = { "lplug_error_fn", function(ud, plugin, code, msg, tb)
    hosts[ud_of(ud)].on_error(ffi.string(plugin),
      ffi.string(C.lplug_errname(code)), ffi.string(msg), ffi.string(tb))
  end },
  on_log = { "lplug_log_fn", function(ud, level, plugin, msg)
    hosts[ud_of(ud)].on_log(levels[level] or "?", str(plugin), ffi.string(msg))
  end },
  on_state = { "lplug_state_fn", function(ud, plugin, from, to, reason)
    hosts[ud_of(ud)].on_state(ffi.string(plugin),
      from ~= 0 and ffi.string(C.lplug_state_name(from)) or nil,
      ffi.string(C.lplug_state_name(to)), ffi.string(reason))
  end },
  on_event = { "lplug_event_fn", function(ud, topic, payload, source)
    local fn = subscribers[ud_of(ud)]
    if fn then fn(ffi.string(topic), fromvalue(payload, 0), str(source)) end
  end },
}

local function trampoline(name)   -- made at its first use
  local t = trampolines[name]
  if type(t) == "table" then
    t = ffi.cast(t[1], t[2])
    trampolines[name] = t
  end
  return t
end

-- Raises unless opts[name] is nil or a function (level 3: here, new, its
-- caller).
local function checkcallback(opts, name)
  local fn = opts[name]
  if fn ~= nil and type(fn) ~= "function" then
    error("bad option '" .. name .. "' to 'new' (function expected, got " ..
          type(fn) .. ")", 3)
  end
end

-- M.new{options} -> engine: the numbers of lplug_config (memory_limit,
-- instruction_limit, time_limit, event_queue, event_queue_bytes,
-- storage_path, storage_quota, storage_batch_ms, failure_limit), grant
-- ("declared" or function(plugin, capability, item) -> boolean),
-- on_error(plugin, code, message, traceback), on_log(level, plugin,
-- message) and on_state(plugin, from, to, reason), as in the Lua 5.4
-- module, checked as it checks them, all before the engine's functions
-- are registered: a raise leaves nothing behind.
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) ..
          ")", 2)
  end
  opts = opts or {}
  local c = ffi.new("lplug_config")
  for _, o in ipairs(number_options) do
    local n = option(opts, o[1], o[2], o[3])
    if n ~= nil then c[o[1]] = n end
  end
  if opts.storage_path ~= nil and type(opts.storage_path) ~= "string" then
    error("bad option 'storage_path' to 'new' (string expected, got " ..
          type(opts.storage_path) .. ")", 2)
  end
  if opts.storage_path and opts.storage_path:find("\0", 1, true) then
    error("bad option 'storage_path' to 'new' (string contains a NUL byte)", 2)
  end
  local grant = opts.grant
  if grant ~= nil and grant ~= "declared" and type(grant) ~= "function" then
    error("bad option 'grant' to 'new' (a function or \"declared\" expected)", 2)
  end
  checkcallback(opts, "on_error")
  checkcallback(opts, "on_log")
  checkcallback(opts, "on_state")
  c.storage_path = opts.storage_path   -- the engine copies it

  local state = { depth = 0 }
  local ud, fns, subs = new_ud(), {}, {}
  local self = setmetatable({ ctl = state, ud = ud, subs = subs }, Engine)
  for _, name in ipairs { "grant", "on_error", "on_log", "on_state" } do
    if type(opts[name]) == "function" then
      fns[name] = guard(state, opts[name])
      c[name] = trampoline(name)
    end
  end
  if grant == "declared" then c.grant = C.lplug_grant_declared end
  c.ud = ffi.cast("void *", ud)
  hosts[ud] = fns
  local e = C.lplug_engine_new(c)
  if e == nil then
    hosts[ud] = nil
    return nil, "out of memory in the host", "ENOMEM"
  end
  -- Collected: the engine goes without telling the host's callbacks, then
  -- the callbacks themselves.
  self.e = ffi.gc(e, function(p)
    state.quiet = true
    C.lplug_engine_free(p)
    hosts[ud] = nil
    for _, s in pairs(subs) do subscribers[s] = nil end
  end)
  return self
end

-- e:define(name [, {fail_closed = true}])
function Engine:define(name, opts)
  local e = check(self)
  name = checkstring(name, 1, "define")
  opts = checkopttable(opts, 2, "define")
  local flags = (opts and opts.fail_closed) and C.LPLUG_HOOK_FAIL_CLOSED or 0
  return result(self, C.lplug_hook_define(e, name, flags, nil))
end

function Engine:load(dir)
  local e = check(self)
  dir = checkstring(dir, 1, "load")
  local outer = enter(self)
  local rc = C.lplug_load_plugin(e, dir)
  leave_or_raise(self, outer)
  return result(self, rc)
end

-- e:load_dirs(dir, ...) or e:load_dirs{dir, ...}: one set.
function Engine:load_dirs(...)
  local e = check(self)
  local dirs = type((...)) == "table" and (...) or { ... }
  if #dirs < 1 or #dirs > 999 then
    error("bad argument #1 to 'load_dirs' (one to 999 folders expected)", 2)
  end
  for i = 1, #dirs do
    if type(dirs[i]) ~= "string" then
      error("bad argument #1 to 'load_dirs' (folder names are strings)", 2)
    end
    if dirs[i]:find("\0", 1, true) then
      error("bad argument #1 to 'load_dirs' (string contains a NUL byte)", 2)
    end
  end
  local arr = ffi.new("const char *[?]", #dirs, dirs)
  local outer = enter(self)
  local rc = C.lplug_load_dirs(e, arr, #dirs)
  leave_or_raise(self, outer)
  return result(self, rc)
end

function Engine:configure(plugin, values)
  local e = check(self)
  plugin = checkstring(plugin, 1, "configure")
  local v = tovalue(values)
  local rc = C.lplug_plugin_configure(e, plugin, v)
  free(v)
  return result(self, rc)
end

-- e:run(hook, value) -> the result (a copy), or nil, message, code.  A
-- result may itself be nil or false: check the second value.
function Engine:run(hook, value)
  local e = check(self)
  hook = checkstring(hook, 1, "run")
  local v = tovalue(value)
  local outer = enter(self)
  local rc = C.lplug_hook_run(e, hook, v)
  local err = leave(self, outer)
  if rc ~= 0 or err ~= nil then
    free(v)
    if err ~= nil then error(err, 0) end
    return result(self, rc)
  end
  local r = fromvalue(v, 0)
  free(v)
  return r
end

function Engine:emit(topic, payload)
  local e = check(self)
  topic = checkstring(topic, 1, "emit")
  local v = tovalue(payload)
  local rc = C.lplug_event_emit(e, topic, v)
  free(v)
  return result(self, rc)
end

-- e:subscribe(pattern, fn(topic, payload, source)) -> id; source is nil
-- for the host.  A subscriber that refers to its engine keeps it from
-- being collected: close such an engine.
function Engine:subscribe(pattern, fn)
  local e = check(self)
  pattern = checkstring(pattern, 1, "subscribe")
  if type(fn) ~= "function" then
    error("bad argument #2 to 'subscribe' (function expected, got " ..
          type(fn) .. ")", 2)
  end
  local ud = new_ud()
  subscribers[ud] = guard(self.ctl, fn)
  -- A number, not the int64 cdata: ids key self.subs, and a host counts
  -- them (exact as doubles far past any id an engine can hand out).
  local id = tonumber(C.lplug_event_subscribe(e, pattern,
                      trampoline("on_event"), ffi.cast("void *", ud)))
  if id < 0 then
    subscribers[ud] = nil
    return result(self, id)
  end
  self.subs[id] = ud
  return id
end

function Engine:unsubscribe(id)
  local e = check(self)
  id = checkinteger(id, 1, "unsubscribe")
  -- Not one of this host's: said here, as the engine keeps no message
  -- for it.
  if self.subs[id] == nil then
    return nil, ("no subscription %d"):format(id), "ENOTFOUND"
  end
  local rc = C.lplug_event_unsubscribe(e, id)
  subscribers[self.subs[id]] = nil
  self.subs[id] = nil
  return result(self, rc)
end

-- e:dispatch([max]) -> number of events delivered
function Engine:dispatch(max)
  local e = check(self)
  max = max == nil and 0 or checkinteger(max, 1, "dispatch")
  if max < 0 or max > INT_MAX then
    error("bad argument #1 to 'dispatch' (0 (all) or a count expected)", 2)
  end
  local outer = enter(self)
  local n = C.lplug_dispatch(e, max)
  leave_or_raise(self, outer)
  return n
end

function Engine:pending() return C.lplug_event_pending(check(self)) end

function Engine:plugins()
  local e, names = check(self), {}
  for i = 0, C.lplug_plugin_count(e) - 1 do
    names[#names + 1] = ffi.string(C.lplug_plugin_name(e, i))
  end
  return names
end

-- e:hooks() -> {name = number of handlers, ...}
function Engine:hooks()
  local e, r = check(self), {}
  for i = 0, C.lplug_hook_count(e) - 1 do
    local h = C.lplug_hook_at(e, i)
    r[ffi.string(C.lplug_hook_name(h))] = C.lplug_hook_handlers(h)
  end
  return r
end

local stat_fields = { "calls", "errors", "runtime_errors", "cpu_errors",
  "memory_errors", "value_errors", "denials", "instructions",
  "instruction_limit", "time_limit", "backstop", "memory", "memory_peak",
  "memory_limit", "storage_bytes", "storage_quota" }

function Engine:stats(name)
  local e = check(self)
  name = checkstring(name, 1, "stats")
  local st = ffi.new("lplug_stats")
  if C.lplug_plugin_stats(e, name, st) ~= 0 then
    return nil, "no plugin '" .. name .. "' is loaded", "ENOTFOUND"
  end
  local r = {}
  for _, k in ipairs(stat_fields) do r[k] = tonumber(st[k]) end
  return r
end

function Engine:state(name)
  local e = check(self)
  name = checkstring(name, 1, "state")
  local s = C.lplug_plugin_state(e, name)
  if s < 0 then return nil, "no plugin '" .. name .. "' is loaded", "ENOTFOUND" end
  return ffi.string(C.lplug_state_name(s))
end

for method, fn in pairs { enable = "lplug_plugin_enable",
                          disable = "lplug_plugin_disable",
                          unload = "lplug_plugin_unload",
                          reload = "lplug_reload" } do
  Engine[method] = function(self, name)
    local e = check(self)
    name = checkstring(name, 1, method)
    local outer = enter(self)
    local rc = C[fn](e, name)
    leave_or_raise(self, outer)
    return result(self, rc)
  end
end

function Engine:flush()
  local e = check(self)
  local outer = enter(self)
  local rc = C.lplug_storage_flush(e)
  leave_or_raise(self, outer)
  return result(self, rc)
end

-- Frees the engine now (plugins' shutdown callbacks run), then the
-- callbacks; later calls raise, and so do calls from those callbacks.
-- Not from inside a callback of this engine: it is running below it.
function Engine:close()
  if getmetatable(self) ~= Engine then check(self) end   -- raises
  if self.e == nil then return end
  if self.ctl.depth > 0 then
    error("cannot close an lplug engine from inside its own callbacks " ..
          "(close it once the engine call returns)", 2)
  end
  local e = ffi.gc(self.e, nil)
  self.e = nil
  local outer = enter(self)
  C.lplug_engine_free(e)
  hosts[self.ud] = nil
  for _, s in pairs(self.subs) do subscribers[s] = nil end
  self.subs = {}
  leave_or_raise(self, outer)
end

-- lplug.strerror(code) -> what a numeric code means
function M.strerror(code)
  return ffi.string(C.lplug_strerror(checkinteger(code, 1, "strerror")))
end

-- }======================================================

-- C calls that can call back into Lua must not be compiled: LuaJIT
-- cannot enter a callback from a JIT-compiled FFI call.
for _, fn in pairs(Engine) do
  if type(fn) == "function" then jit.off(fn) end
end
jit.off(M.new)

return M
