-- require "lplug" for Lua 5.4 hosts: the lplug engine (sandboxed Lua
-- plugins with CPU and memory budgets) as a Lua module.  Built from this
-- source tree with `luarocks make`; see docs/lua-host.md.
rockspec_format = "3.0"
package = "lplug"
version = "scm-1"
source = {
  url = "git+file://.",
}
description = {
  summary = "Sandboxed Lua 5.4 plugin engine, for Lua 5.4 hosts",
  detailed = [[
    Each plugin runs in its own restricted Lua 5.4 state with a memory
    budget and a per-call CPU limit, and reaches the host only through
    capability-gated modules.  Values cross between the host and the
    plugins as copies.
  ]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  YAML = { header = "yaml.h", library = "yaml" },
  SQLITE3 = { header = "sqlite3.h", library = "sqlite3" },
}
build = {
  type = "make",
  -- The module is the binding and the engine in one shared object; Lua
  -- itself comes from the host interpreter.
  build_target = "rock",
  build_variables = {
    BUILD = "build/rock",
    CFLAGS = "$(CFLAGS)",
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
  install_target = "rock-install",
  install_variables = {
    BUILD = "build/rock",
    INST_LIBDIR = "$(LIBDIR)",
  },
}
