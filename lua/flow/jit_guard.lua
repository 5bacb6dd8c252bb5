--- Works around a known LuaJIT code generation bug where the LuaJIT in use
--- has it. LuaJIT before its fix of issue #1117 (November 2023: on x86/x64
--- a table load could be fused into an instruction after an insertion of a
--- new key or a table.clear, which may move or free the slot read) can
--- compute wrong results in traces that read and insert into the same
--- table, as every keyed operator does. Debian 12's LuaJIT (2.1.0-beta3,
--- 2022) has the bug: spec/unit/nexmark_ref_spec.lua failed in about one
--- run in twenty, never with the fusion off (`luajit -O-fuse`). On such
--- versions every Lua state flowlua runs (client, task, REPL) turns load
--- fusion off; rolling releases from the fix on (LuaJIT 2.1.<timestamp>)
--- keep it. FLOWLUA_JIT_FUSE=1 keeps fusion on anyway (to measure what
--- the workaround costs).
local M = {}

local FIXED = 1700092800 -- 2023-11-16: rolling releases from then on have the fix

--- Turns fusion off when this LuaJIT needs it; true when it did.
---@return boolean
function M.apply()
  local jit = require("jit")
  if jit.arch ~= "x64" and jit.arch ~= "x86" then return false end
  local stamp = tonumber(jit.version:match("^LuaJIT 2%.1%.(%d+)$"))
  if stamp and stamp >= FIXED then return false end
  if os.getenv("FLOWLUA_JIT_FUSE") == "1" then return false end
  jit.opt.start("-fuse")
  return true
end

M.applied = M.apply()

return M
