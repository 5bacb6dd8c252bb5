--- Helpers for unit specs (spec/unit): the task-side modules loaded
--- directly into busted's own luajit, no binary, no job.
local M = {}

--- The build directory: where ctest's FLOWLUA (the binary) lives.
local bin = os.getenv("FLOWLUA") or "build/flowlua"
M.build_dir = bin:match("^(.*)/[^/]*$") or "."

--- Loads the C core (flow_native.so of the build) into this luajit, so that
--- ffi.C finds the flow_* functions (src/lua/module.c makes them global).
--- Modules still come from this checkout's lua/, not from the copies
--- embedded in the build: the module's searcher goes last.
function M.native()
  if package.loaded.flow_native then return package.loaded.flow_native end
  local before = {}
  for _, l in ipairs(package.loaders) do before[l] = true end
  package.cpath = M.build_dir .. "/?.so;" .. package.cpath
  local native = require("flow_native")
  for i = #package.loaders, 1, -1 do
    local l = package.loaders[i]
    if not before[l] then
      table.remove(package.loaders, i)
      package.loaders[#package.loaders + 1] = l
    end
  end
  return native
end

--- A task context as run_task builds it, for operators run outside a task
--- (fields as flow.TaskContext; override any with `fields`).
function M.context(fields)
  local timers = require("flow.runtime.timers")
  local ctx = {
    task = nil,
    desc = { subtask = 0, parallelism = 1, max_parallelism = 128, buffer_timeout_ms = 100, mode = "streaming",
      outputs = {} },
    subtask = 0,
    parallelism = 1,
    mode = "streaming",
    C = require("flow.ffi").C,
    CANCELED = setmetatable({}, { __tostring = function() return "task canceled" end }),
    flushers = {},
    accumulators = {},
    processing_timers = timers.new(),
    chain = {},
    writers = {},
    count_flushers = {},
    source_links = {},
    -- the task's counters, as C would hand them out (runtime/task_metrics.h)
    metrics = require("ffi").new("flow_task_metrics_t"),
  }
  function ctx.flush_counts()
    for i = 1, #ctx.count_flushers do ctx.count_flushers[i]() end
  end
  function ctx.count_source(n) ctx.source_count = (ctx.source_count or 0) + n end
  function ctx:counter(name)
    local acc = self.accumulators
    if acc[name] == nil then acc[name] = 0 end
    return { add = function(_, n) acc[name] = acc[name] + (n or 1) end, get = function() return acc[name] end }
  end
  for k, v in pairs(fields or {}) do
    if k == "desc" then
      for dk, dv in pairs(v) do ctx.desc[dk] = dv end
    else
      ctx[k] = v
    end
  end
  ctx.subtask, ctx.parallelism, ctx.mode = ctx.desc.subtask, ctx.desc.parallelism, ctx.desc.mode
  return ctx
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  return c
end
M.copy = copy

--- An operator of a chain whose outputs are captured: op.out holds copies
--- of what it emitted, as it was then (an operator may emit a table it
--- keeps changing), with the timestamp ctx.ts had; op.wms its watermarks.
function M.op(spec, ctx, fields)
  local op = { id = 1, name = spec.kind or "op", uid = "op-1", spec = spec, outputs = {}, side = {},
    current_wm = -math.huge, out = {}, wms = {}, statuses = {} }
  op.emit = function(v) op.out[#op.out + 1] = { v = copy(v), ts = ctx.ts } end
  op.emit_wm = function(wm) op.wms[#op.wms + 1] = wm end
  op.emit_status = function(idle) op.statuses[#op.statuses + 1] = idle end
  for k, v in pairs(fields or {}) do op[k] = v end
  return op
end

--- The values an operator emitted, in order.
function M.values(op)
  local t = {}
  for i, e in ipairs(op.out) do t[i] = e.v end
  return t
end

return M
