--- The task: runs on a task thread, in that task's own Lua state (Flink's
--- StreamTask with its OperatorChain).
---
--- C calls `run_task` once per subtask attempt (src/lua/task_body.c). From
--- then on Lua drives: a source at the head runs the chain
--- (flow.runtime.sources); otherwise the input processor
--- (flow.runtime.input_processor) pulls whole input buffers from C through
--- the FFI and pushes their records through the fused chain of operators
--- (plain Lua closures calling each other, so LuaJIT traces the chain as
--- one loop); record writers (flow.runtime.record_writer) encode output
--- records straight into network buffers. C is entered once per buffer,
--- never per record.
require("flow.jit_guard") -- first: before any trace is compiled
local ffi = require("ffi")
local fi = require("flow.ffi")
local keys = require("flow.runtime.keys")
local ship = require("flow.ship")
local operators = require("flow.runtime.operators")
local record_writer = require("flow.runtime.record_writer")
local input_processor = require("flow.runtime.input_processor")
local sources = require("flow.runtime.sources")
local checkpoint = require("flow.runtime.checkpoint")
local timers = require("flow.runtime.timers")
local sbuf = require("string.buffer")

local C = fi.C
local table_new = require("table.new")
local NAN = 0 / 0 -- (a watermark the metrics leave as it is)
local now_ms, mono_ms = fi.now_ms, fi.mono_ms

local M = {}

--- Raised when C reports the job canceled us; the task then ends CANCELED
--- (src/lua/task_body.c compares the error with it).
local CANCELED = setmetatable({}, { __tostring = function() return "task canceled" end, __flow_sentinel = true })
M.CANCELED = CANCELED

--- A node's payload: { package_path = client's package.path, spec = shipped
--- operator spec }. The path comes first, so modules the spec refers to are
--- found when it is decoded. In cluster mode the client's directories mean
--- nothing here: `blob_dir` holds the modules the client uploaded with the
--- job (BlobServer), searched before this process's own path.
local own_path = package.path
function M.decode_payload(payload, blob_dir)
  local p = sbuf.decode(payload)
  if blob_dir then
    package.path = blob_dir .. "/?.lua;" .. blob_dir .. "/?/init.lua;" .. own_path
  else
    package.path = p.package_path
  end
  return ship.decode(p.spec)
end

--- Combines several downstream push functions into one.
local function fan_out(targets)
  if #targets == 0 then return function() end end
  if #targets == 1 then return targets[1] end
  if #targets == 2 then
    local a, b = targets[1], targets[2]
    return function(v)
      a(v)
      return b(v)
    end
  end
  return function(v)
    for i = 1, #targets do targets[i](v) end
  end
end

--- The counters of operator i (1-based) of this task's chain (Flink's
--- per-operator metrics): a pointer into C's flow_task_metrics_t.
local function operator_metrics(ctx, i)
  local m = ctx.metrics
  if i - 1 < m.n_ops then return m.ops + (i - 1) end
  return ffi.new("flow_operator_metrics_t[1]") -- (a chain longer than C knows: counted nowhere)
end

--- Per-operator counts (numRecordsIn/Out) across the links between chained
--- operators. Most links cost nothing per record:
--- - out of a source: its records are counted per batch (ctx.count_source);
--- - out of an operator that emits exactly one record per record (map,
---   timestamps, a streaming reduce/sum: its running result): its
---   numRecordsIn, flushed first, is its numRecordsOut;
--- - across C batches: per batch (sources.lua, c_operator.lua).
--- Other links (out of filter, flat_map, process, windows, ...) count in a
--- Lua upvalue per record, added to C's counters once per buffer by
--- ctx.flush_counts. Each such link is a function prototype of its own
--- (compiled here): LuaJIT takes nested calls of one prototype for
--- recursion, and a chain of links sharing one made its traces unstable
--- (P3 took 1.5x to 8x as long). `out` says whether the link also counts
--- as `from`'s numRecordsOut (its first main output; not a side output).
local ONE_TO_ONE = { map = true, timestamps = true }
local LINK = [[
local target, from, to, out, C = ...
local n = 0
return function(v)
  n = n + 1
  return target(v)
end, function()
  if n > 0 then
    C.flow_op_metrics_add(from, 0, out and n or 0, 0)
    C.flow_op_metrics_add(to, n, 0, 0)
    n = 0
  end
end]]
local function counted(ctx, i, target, from, to, out)
  local op = ctx.chain[i]
  local flushers = ctx.count_flushers
  if op.spec.source then -- per batch
    local links = ctx.source_links
    links[#links + 1] = { to = to, out = out }
    return target
  end
  if ONE_TO_ONE[op.spec.kind] or (op.spec.kind == "reduce" and ctx.mode ~= "batch") then
    -- from its numRecordsIn, once that is flushed
    local seen = 0
    flushers[#flushers + 1] = { i, function()
      local n = from.records_in - seen
      if n > 0 then
        seen = seen + n
        C.flow_op_metrics_add(from, 0, out and n or 0, 0)
        C.flow_op_metrics_add(to, n, 0, 0)
      end
    end }
    return target
  end
  local link, flush = assert(load(LINK, "=(operator link)"))(target, from, to, out, C)
  flushers[#flushers + 1] = { i, flush }
  return link
end

--- Fault injection for tests: FLOWLUA_FAULT="op=NAME,subtask=S,after=N[,attempt=A][,kill]"
--- makes operator NAME of subtask S (default 0) fail after N records in
--- attempt A (default 0), or SIGKILL the whole process with `kill`.
local function fault_spec(desc)
  local f = os.getenv("FLOWLUA_FAULT")
  if not f or f == "" then return nil end
  local t = {}
  for k, v in f:gmatch("([%w_]+)=?([^,]*)") do t[k] = v end
  if tonumber(t.subtask or "0") ~= desc.subtask or tonumber(t.attempt or "0") ~= desc.attempt then return nil end
  return { op = t.op, after = tonumber(t.after or "0"), kill = t.kill ~= nil }
end

local function inject(fault, f)
  local n = 0
  return function(v)
    n = n + 1
    if n > fault.after then
      if fault.kill then C.kill(C.getpid(), 9) end
      error("injected failure after " .. fault.after .. " records (FLOWLUA_FAULT)", 0)
    end
    return f(v)
  end
end

--- The task's context: what every operator of the chain shares; also the
--- RuntimeContext user functions see (flow.get_runtime_context()).
---@return flow.TaskContext
local function new_context(task, desc)
  -- ctx.ts (the current record's timestamp) is read per record and is nil
  -- most of the time. A key set to nil keeps its hash slot until the table
  -- is rehashed, and while it has one LuaJIT reads it at a constant slot
  -- (HREFK); once a rehash dropped it, every read walks the hash chain (P4
  -- took 45 % more instructions when fields were added here). So the hash
  -- part is made large enough up front that the fields operators add later
  -- never rehash it, and ts gets its slot at once.
  local ctx = table_new(0, 64)
  ctx.task = task
  ctx.desc = desc
  ctx.subtask = desc.subtask
  ctx.parallelism = desc.parallelism
  ctx.mode = desc.mode
  ctx.C = C
  ctx.CANCELED = CANCELED
  ctx.flushers = {} -- called when the task is about to wait, and at the end
  ctx.count_flushers = {} -- add the chain's per-record counts to C's (once per buffer)
  ctx.source_links = {} -- the source's links to chained operators (counted per batch)
  ctx.metrics = C.flow_task_metrics(task) -- this attempt's counters (runtime/task_metrics.h)
  ctx.accumulators = {} -- name -> number, summed over subtasks by the client
  ctx.processing_timers = timers.new()
  ctx.ts = false
  ctx.ts = nil
  --- ctx:counter(name):add(n): an accumulator of this job (Flink's IntCounter)
  local counters = {} -- name -> its counter, made once
  -- (made in a function of its own: a function that creates closures over
  -- its parameters closes upvalues when it returns, which LuaJIT does not
  -- compile — the lookup below stays compiled in the caller's trace)
  local function new_counter(name)
    local acc = ctx.accumulators
    if acc[name] == nil then acc[name] = 0 end
    local c = { add = function(_, n) acc[name] = acc[name] + (n or 1) end, get = function() return acc[name] end }
    counters[name] = c
    return c
  end
  function ctx:counter(name)
    return counters[name] or new_counter(name)
  end
  -- (built by build_chain: flushers in chain order, head first, so that a
  -- one-to-one operator's numRecordsIn is complete before it is passed on)
  local count_flushers = ctx.count_flushers
  function ctx.flush_counts()
    for i = 1, #count_flushers do count_flushers[i]() end
  end
  --- a source emitted n records (its links out count per batch)
  local source_links = ctx.source_links
  function ctx.count_source(n)
    C.flow_task_count(task, n, 0)
    local m = ctx.chain[1].metrics
    local counted_out = false
    for k = 1, #source_links do
      local l = source_links[k]
      C.flow_op_metrics_add(l.to, n, 0, 0)
      if l.out then counted_out = true end
    end
    if counted_out then C.flow_op_metrics_add(m, 0, n, 0) end
  end
  function ctx:subtask_index() return self.subtask end
  function ctx:get_parallelism() return self.parallelism end
  return ctx
end

--- The network outputs: one writer per desc.outputs[k]; a hash edge
--- partitions by the target's key, and carries the combiner its producer's
--- spec names for it (batch mode).
---@param ctx flow.TaskContext
---@return flow.RecordWriter[]
local function new_writers(ctx)
  local desc, writers = ctx.desc, {}
  for k, out in ipairs(desc.outputs) do
    local key
    if out.partitioner == "hash" then
      local tspec = M.decode_payload(out.target.payload, desc.blob_dir)
      key = keys.of_target(tspec, out.type_number)
    end
    local comb = record_writer.edge_combiner(record_writer.producer(ctx.chain, out), out)
    writers[k] = record_writer.new(ctx, k, out, key, comb)
  end
  return writers
end

--- Builds the fused chain from its tail to its head; an operator's outputs
--- are its main output and, per output tag, its side outputs. Returns the
--- head's push function (nil for a source).
---@param ctx flow.TaskContext
local function build_chain(ctx)
  local chain, writers = ctx.chain, ctx.writers
  local push = {}
  local fault = fault_spec(ctx.desc)
  local task_metrics = ctx.metrics
  local flushers = ctx.count_flushers -- ({ op index, flusher } until sorted below)
  for i = #chain, 1, -1 do
    local op = chain[i]
    local om = operator_metrics(ctx, i)
    op.metrics = om
    local tags = op.spec.out_tags or {}
    local main, side, wms, sts = {}, {}, {}, {}
    local collect -- the main output's collect method, when it is one writer's
    local out_counted = false -- the first main output counts as the op's numRecordsOut
    for _, o in ipairs(op.outputs) do
      local target
      local is_main = not tags[o.target]
      local counts_out = is_main and not out_counted
      if counts_out then out_counted = true end
      if o.op then
        target = push[o.op]
        if type(target) == "table" then error("a two-input operator cannot be chained") end
        local next_op = chain[o.op]
        local nm = operator_metrics(ctx, o.op)
        target = counted(ctx, i, target, om, nm, counts_out)
        wms[#wms + 1] = function(wm)
          C.flow_op_metrics_watermarks(om, NAN, wm)
          C.flow_op_metrics_watermarks(nm, wm, NAN)
          return next_op.on_watermark(wm)
        end
        sts[#sts + 1] = function(idle) return next_op.on_status(idle) end
      elseif o.net then
        local w = writers[o.net]
        target = w.emit
        if counts_out then w.set_operator_metrics(om) end
        local wm_out = w.watermark
        wms[#wms + 1] = function(wm)
          C.flow_op_metrics_watermarks(om, NAN, wm)
          C.flow_task_metrics_watermarks(task_metrics, NAN, wm)
          return wm_out(wm)
        end
        sts[#sts + 1] = writers[o.net].status
      end
      local tag = tags[o.target]
      if tag then
        side[tag] = side[tag] or {}
        table.insert(side[tag], target)
      else
        main[#main + 1] = target
        collect = o.net and writers[o.net].collect
      end
    end
    op.emit = fan_out(main)
    op.collect = #main == 1 and collect or nil
    -- records that only go to the network are encoded at once: an operator
    -- may then emit a table it keeps (no defensive copy)
    local all_net = #op.outputs > 0
    for _, o in ipairs(op.outputs) do if not o.net then all_net = false end end
    op.emit_is_encoded = all_net
    op.side = {}
    for tag, targets in pairs(side) do op.side[tag] = fan_out(targets) end
    -- watermarks and idleness go to every output, side outputs included
    op.emit_wm = fan_out(wms)
    op.emit_status = fan_out(sts)
    op.current_wm = -math.huge
    push[i] = operators.build(op, ctx)
    if fault and op.name == fault.op then
      if op.spec.source then op.emit = inject(fault, op.emit)
      elseif type(push[i]) == "function" then push[i] = inject(fault, push[i]) end
    end
    if not op.on_watermark then
      op.on_watermark = function(wm)
        op.current_wm = wm
        return op.emit_wm(wm)
      end
    end
    if not op.on_status then op.on_status = op.emit_status end
  end
  -- head first: a one-to-one operator's numRecordsIn is complete before it
  -- is passed on
  table.sort(flushers, function(a, b) return a[1] < b[1] end)
  for k = 1, #flushers do flushers[k] = flushers[k][2] end
  return push[1]
end

--- Runs one subtask. `tp` is the C flow_task_t*, `desc` the descriptor built
--- in src/lua/task_body.c. Returns the encoded accumulators, or nil.
function M.run_task(tp, desc)
  local task = ffi.cast("flow_task_t *", tp)
  local chain = desc.ops
  for i = 1, #chain do
    chain[i].spec = M.decode_payload(chain[i].payload, desc.blob_dir)
  end
  math.randomseed(desc.subtask * 7919 + desc.vertex)

  local ctx = new_context(task, desc)
  require("flow.context").current = ctx
  ctx.chain = chain
  ctx.writers = new_writers(ctx)
  local writers = ctx.writers
  local head_push = build_chain(ctx)

  local function flush_all()
    for i = 1, #ctx.flushers do ctx.flushers[i]() end
    for k = 1, #writers do writers[k].flush() end
  end

  if desc.restore_dir then checkpoint.restore(ctx) end
  local cp = checkpoint.checkpointer(ctx)

  -- the processing-time service: timers fire between records, on this thread
  local ptimers = ctx.processing_timers
  local function on_processing_timer(owner, key, ts, ns, d1, d2) owner:on_processing_timer(key, ts, ns, d1, d2) end
  local function fire_processing_timers()
    if ptimers.n > 0 then ptimers:advance(now_ms(), on_processing_timer) end
  end

  local function check_canceled()
    if C.flow_task_canceled(task) ~= 0 then error(CANCELED, 0) end
  end

  -- Flink's buffer timeout: output waits at most `timeout` ms in a
  -- partly filled buffer (0: flushed per record by the writer; -1: only
  -- full buffers leave)
  local timeout = desc.buffer_timeout_ms
  local last_flush = mono_ms()
  local head = chain[1]
  local is_source = head.spec.source
  local flush_counts, count_source = ctx.flush_counts, ctx.count_source
  ctx.maybe_flush = function(pos, emitted)
    if emitted then count_source(emitted) end
    flush_counts()
    check_canceled()
    fire_processing_timers()
    -- a source polls the coordinator's trigger (the position is where it
    -- would resume)
    if is_source then cp.poll_request(pos) end
    cp.poll_complete()
    if timeout > 0 then
      local now = mono_ms()
      if now - last_flush >= timeout then
        flush_all()
        last_flush = now
      end
    end
  end

  -- developers' tools on every task (one file per subtask in DIR, named
  -- after the task): FLOWLUA_JIT_PROFILE=MODE[:DIR[:TASK]] runs LuaJIT's
  -- sampling profiler (jit.p, modes as luajit -jp) on the tasks whose name
  -- contains TASK; FLOWLUA_JIT_LOG=DIR its trace
  -- log (jit.v: traces compiled and aborted, with the reason), or with
  -- FLOWLUA_JIT_DUMP=OPTS jit.dump's listing (options as luajit -jdump)
  local function tool_file(dir, ext)
    return (dir ~= "" and dir or ".") .. "/" .. desc.name:gsub("[^%w%-]+", "_") .. ext
  end
  local profile = os.getenv("FLOWLUA_JIT_PROFILE")
  if profile then -- MODE[:DIR[:TASK]]: only tasks whose name contains TASK (one
    -- profiler runs per process: profile one task at a time)
    local mode, dir, only = profile:match("^([^:]*):?([^:]*):?(.*)$")
    if only ~= "" and not desc.name:find(only, 1, true) then profile = nil
    else require("jit.p").start(mode ~= "" and mode or "f", tool_file(dir, ".prof")) end
  end
  local jitlog = os.getenv("FLOWLUA_JIT_LOG")
  if jitlog then
    local dump = os.getenv("FLOWLUA_JIT_DUMP")
    if dump then require("jit.dump").start(dump, tool_file(jitlog, ".dump"))
    else require("jit.v").start(tool_file(jitlog, ".jitlog")) end
  end

  C.flow_task_running(task)
  if is_source then
    sources.run(head, ctx)
    check_canceled()
    ctx.ts = nil
    head.on_watermark(math.huge) -- a source that ends says: no more event time
  else
    input_processor.run(ctx, head_push, {
      checkpointer = cp, flush = flush_all, fire_timers = fire_processing_timers, timers = ptimers,
    })
  end
  check_canceled() -- a canceled task never ends as FINISHED
  if profile then require("jit.p").stop() end

  -- end of input: operators finish in chain order (a batch reduce emits here)
  for i = 1, #chain do
    local fin = chain[i].finish
    if fin then fin() end
  end
  for i = 1, #ctx.flushers do ctx.flushers[i]() end
  for k = 1, #writers do writers[k].finish() end
  flush_counts()
  -- as JSON: the client sums them, and C reads them too (REST /accumulators)
  if next(ctx.accumulators) then return require("flow.json").encode(ctx.accumulators) end
  return nil
end

return M
