--- The running task's RuntimeContext, shared by the task side (which sets
--- it when a task starts) and the API (flow.get_runtime_context reads it),
--- so neither requires the other.
---@class flow.context
---@field current table|nil the context of the task running in this Lua state
local M = { current = nil }
return M
