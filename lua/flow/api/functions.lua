--- What scripts and their user functions reach for besides the stream
--- classes: side output tags (Flink's OutputTag), the running task's
--- RuntimeContext and the script's parameters (Flink's ParameterTool).

-- flow.output_tag, flow.get_runtime_context and flow.params
-- (lua/flow/init.lua puts them into `flow`)
---@class flow
local flow = {}

--- Makes a side output tag (Flink's OutputTag), for `ctx:output(tag, v)`,
--- get_side_output and side_output_late_data.
---@param name string
---@return flow.OutputTag tag
--- Example:
---   local late = flow.output_tag("late")
function flow.output_tag(name)
  if type(name) ~= "string" or name == "" then error("output_tag expects a non-empty name", 2) end
  return { name = name }
end

--- The running task's context (subtask_index(), get_parallelism(), counter(name))
--- from inside any user function; an error on the client.
--- Its methods: subtask_index(), get_parallelism(), counter(name):add(n).
---@return table ctx
--- Example:
---   ds:map(function(v)
---     flow.get_runtime_context():counter("seen"):add(1)
---     return v
---   end)
function flow.get_runtime_context()
  local ctx = require("flow.context").current
  if not ctx then error("get_runtime_context() works only inside a running task", 2) end
  return ctx
end

--- Flink's ParameterTool over the script's arguments.
--- Methods: get(key, default), get_number, get_bool, get_required, has,
--- keys, size, to_table.
---@param argv? string[] default: the script's arguments (`arg`)
---@return table params
--- Example:
---   local params = flow.params()
---   local input = params:get("input", "input.txt")
---   local p = params:get_number("parallelism", 1)
function flow.params(argv)
  return require("flow.params").from_args(argv or _G.arg or {})
end

return flow
