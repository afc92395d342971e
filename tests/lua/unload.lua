-- Loads a plugin in two engines, one after the other, and exits: the
-- second load compiles the same file again, so the process-wide cache of
-- compiled plugin code keeps it (sandbox/chunkcache.c).  Run under
-- valgrind by tests/integration/rock.sh: when lua_close unloads the
-- module, nothing of the engine may be left allocated and unreachable.
local lplug = require "lplug"
for _ = 1, 2 do
  local e <close> = assert(lplug.new { grant = "declared" })
  assert(e:define("request"))
  assert(e:load("examples/embed/plugins/block-bots"))
end
