--- Operators as they run inside a task: the registry of operator kinds,
--- and the shapes every operator module shares (`flow.Op`, the chain's
--- operator, and `flow.TaskContext`, the task's context).
---
--- A builder `kind(op, ctx)` returns the function a record is pushed into
--- (`{ push1, push2 }` for two inputs); it calls `op.emit` (the next
--- operator's push, or a network writer's emit) directly, so a chain is a
--- nest of plain Lua closures that LuaJIT traces as one loop.
---
--- Operator specs are the tables the API ships with each StreamGraph node
--- (see `flow.ship`): `{ kind = "map", fn = f }`, ...

---@class flow.OpOutput where one output of an operator goes
---@field target integer the stream node id it feeds
---@field op integer|nil the target's index in the chain, when chained
---@field net integer|nil else the index of the network writer (desc.outputs)

---@class flow.Op one operator of the chain: a task descriptor's `ops[i]` (src/lua/task_body.c) plus what the task adds
---@field id integer stream node id
---@field name string
---@field uid string the operator's state id in checkpoints
---@field kind string
---@field origin string where the script created it
---@field parallelism integer
---@field max_parallelism integer
---@field payload string the shipped spec, encoded
---@field outputs flow.OpOutput[]
---@field spec table the decoded spec: `kind`, its functions and options; `out_tags` (target node id -> side output tag), `out_combine` (target node id -> batch combiner, see flow.runtime.record_writer)
---@field emit fun(v:any) pushes to the main output (every target)
---@field collect fun(self:any, v:any)|nil the main output's own collect method (a record writer's combiner), for out:collect
---@field emit_is_encoded boolean every output is a network writer: records are encoded at once, so an operator may emit a table it keeps
---@field side table<string, fun(v:any)> side outputs by tag name
---@field emit_wm fun(wm:number) passes a watermark to every output, side outputs included
---@field emit_status fun(idle:boolean) passes idleness to every output
---@field current_wm number the operator's watermark (-math.huge at first)
---@field on_watermark fun(wm:number) a watermark from upstream (default: remember it, pass it on)
---@field on_status fun(idle:boolean) idleness from upstream (default: pass it on)
---@field finish fun()|nil end of input, in chain order
---@field snapshot (fun(id:number):any)|nil the operator's state for checkpoint id
---@field restore fun(states:any[], rescaled:boolean)|nil states saved under its uid
---@field notify_complete fun(id:number)|nil checkpoint id completed
---@field backend flow.KeyedStateBackend|nil keyed operators
---@field event_timers flow.TimerService|nil keyed operators
---@field text_raw (fun(p:ffi.cdata*, len:integer):integer, integer)|nil text sinks: formats encoded records in C
---@field c_batch fun(p:ffi.cdata*, len:integer, count:integer)|nil C operators: take an encoded batch
---@field finished_on_restore boolean|nil a source that had ended in the restored checkpoint
---@field restored_position any a source's restored position

---@class flow.TaskContext the running task's context (also flow.context.current, the RuntimeContext)
---@field task ffi.cdata* the C flow_task_t *
---@field desc table the task descriptor (src/lua/task_body.c)
---@field subtask integer 0-based
---@field parallelism integer
---@field mode "batch"|"streaming"
---@field C ffi.namespace* ffi.C
---@field CANCELED table the error a canceled task ends with
---@field flushers fun()[] called before the task waits, before a barrier and at the end
---@field accumulators table<string, number> summed over subtasks by the client
---@field processing_timers flow.TimerService the task's processing-time service
---@field writers flow.RecordWriter[] the network outputs, as desc.outputs
---@field chain flow.Op[] the operators, head first
---@field ts number|nil the event timestamp of the record being processed
---@field maybe_flush fun(pos:any, emitted:integer|nil) sources call it between batches
---@field source_position any where the source would resume (checkpoints)
---@field restored_from string|nil the checkpoint directory restored from
---@field counter fun(self:flow.TaskContext, name:string):table an accumulator: :add(n), :get()

local M = {}

--- kind -> the module whose function of that name builds it
local KINDS = {
  map = "flow.runtime.operators.transforms",
  filter = "flow.runtime.operators.transforms",
  flat_map = "flow.runtime.operators.transforms",
  co_map = "flow.runtime.operators.transforms",
  co_flat_map = "flow.runtime.operators.transforms",
  reduce = "flow.runtime.operators.keyed",
  process = "flow.runtime.operators.keyed",
  co_process = "flow.runtime.operators.keyed",
  interval_join = "flow.runtime.operators.interval_join",
  window = "flow.runtime.window_operator",
  timestamps = "flow.runtime.operators.timestamps",
  c_op = "flow.runtime.operators.c_operator",
  discard = "flow.runtime.sinks",
  sink = "flow.runtime.sinks",
  print = "flow.runtime.sinks",
  write_text = "flow.runtime.sinks",
  collect = "flow.runtime.sinks",
  file_sink = "flow.runtime.sinks",
}
M.KINDS = KINDS

--- Builds an operator of the chain; a source gets its checkpoint hooks
--- only (flow.runtime.sources runs it).
---@param op flow.Op
---@param ctx flow.TaskContext
---@return (fun(v:any))|(fun(v:any))[]|nil push
function M.build(op, ctx)
  if op.spec.source then
    require("flow.runtime.sources").checkpoints(op, ctx)
    return nil
  end
  local kind = op.spec.kind
  local mod = KINDS[kind]
  if not mod then error("unknown operator kind '" .. tostring(kind) .. "'") end
  return require(mod)[kind](op, ctx)
end

return M
