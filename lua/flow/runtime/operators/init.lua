--- Operators as they run inside a task: each `build` returns the function a
--- record is pushed into; it calls `op.emit` (the next operator's push, or a
--- network writer) directly, so a chain is a nest of plain Lua calls.
---
--- Operator specs are the tables lua/flow/init.lua ships with each
--- StreamGraph node (see `flow.ship`): `{ kind = "map", fn = f }`, ...
local ffi = require("ffi")
local codec = require("flow.codec")
local format = require("flow.format")
local state = require("flow.runtime.state")
local timers = require("flow.runtime.timers")

local floor = math.floor
local encode_string = codec.encode_string

local M = {}

--- A key selector from a spec: a function, or a field index/name.
---@return fun(v:any):any
function M.key_selector(key)
  if key == nil then return nil end
  if key.fn then return key.fn end
  local field = key.field
  return function(v)
    if type(v) ~= "table" then
      if field == 1 then return v end
      error("key_by(" .. tostring(field) .. "): record " .. format.value(v) .. " is not a table", 0)
    end
    return v[field]
  end
end

local function shallow_copy(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

--- The accumulate function of a keyed reduce/aggregation:
--- step(acc_or_nil, v) -> acc. It may mutate and return acc (acc is owned by
--- the operator), never its input v.
function M.reducer(spec)
  local agg, field = spec.agg, spec.field
  if agg == nil then
    local f = spec.fn
    return function(a, v)
      if a == nil then return v end
      return f(a, v)
    end
  end
  local function get(v) if type(v) == "table" then return v[field] end return v end
  if agg == "sum" then
    -- Flink's SumAggregator: the other fields are the first record's
    return function(a, v)
      if type(v) ~= "table" then return (a or 0) + v end
      if a == nil then return shallow_copy(v) end
      a[field] = a[field] + v[field]
      return a
    end
  elseif agg == "min" or agg == "max" then
    local less = agg == "min"
    return function(a, v)
      if type(v) ~= "table" then
        if a == nil then return v end
        if less then return v < a and v or a end
        return v > a and v or a
      end
      if a == nil then return shallow_copy(v) end
      local x = v[field]
      if (less and x < a[field]) or (not less and x > a[field]) then a[field] = x end
      return a
    end
  elseif agg == "min_by" or agg == "max_by" then
    local less = agg == "min_by"
    return function(a, v) -- the whole record; the first among ties
      if a == nil then return v end
      local x, y = get(v), get(a)
      if (less and x < y) or (not less and x > y) then return v end
      return a
    end
  end
  error("unknown aggregation " .. tostring(agg))
end

--- What a network writer needs to know about the operator it feeds.
function M.partition_spec(tspec, mode, type_number)
  local key = tspec.key
  if tspec.keys and type_number and type_number > 0 then key = tspec.keys[type_number] end
  local r = { key_of = M.key_selector(key) }
  -- a combiner is only correct when combining cannot change a record's key:
  -- a built-in aggregation keyed by a field other than the one it changes
  -- (a user reduce, or a key selector function, might)
  local safe = tspec.agg ~= nil and key ~= nil and key.field ~= nil and
    (tspec.agg == "min_by" or tspec.agg == "max_by" or key.field ~= tspec.field)
  if mode == "batch" and tspec.kind == "reduce" and safe then
    r.combine = M.reducer(tspec)
    -- the common case (sum of a field, keyed by a field) gets a faster path
    if tspec.agg == "sum" and key and type(key.field) == "number" and type(tspec.field) == "number" then
      r.key_field, r.sum_field = key.field, tspec.field
    end
  end
  return r
end

local builders = {}

function builders.map(op)
  local f, emit = op.spec.fn, op.emit
  return function(v) return emit(f(v)) end
end

function builders.filter(op)
  local f, emit = op.spec.fn, op.emit
  return function(v)
    if f(v) then return emit(v) end
  end
end

--- emit function -> an equivalent method (self, v), for out:collect
M.collect_methods = setmetatable({}, { __mode = "k" })

function builders.flat_map(op)
  local f, emit = op.spec.fn, op.emit
  local out = { collect = M.collect_methods[emit] or function(_, x) return emit(x) end }
  return function(v) return f(v, out) end
end

--- Snapshot and restore of an operator's keyed state and timers; on a
--- restore only the key groups this subtask owns are kept (rescaling).
--- owners: name -> timer owner object; timer_key(d1) gives a timer's key;
--- fix_state/fix_timer re-intern restored values (windows); extra_* carry
--- operator data such as key maps.
local function keyed_checkpoints(op, ctx, owners, opts)
  opts = opts or {}
  local runtime = require("flow.runtime.task")
  local checkpoint = require("flow.runtime.checkpoint")
  local maxp = ctx.desc.max_parallelism
  op.snapshot = function()
    local s = { keyed = op.backend:snapshot(), etimers = {}, ptimers = {} }
    for name, owner in pairs(owners) do
      s.etimers[name] = op.event_timers:snapshot(owner)
      s.ptimers[name] = ctx.processing_timers:snapshot(owner)
    end
    if opts.extra_snapshot then s.extra = opts.extra_snapshot() end
    return s
  end
  op.restore = function(states)
    local first, last = checkpoint.key_group_range(ctx.subtask, ctx.parallelism, maxp)
    local snaps = {}
    for i, st in ipairs(states) do snaps[i] = st.keyed end
    op.backend:restore(snaps, first, last, opts.fix_state)
    local timer_key = opts.timer_key or function(d1) return d1 end
    local function mine(t)
      local kg = runtime.key_group(timer_key(t[4]), maxp)
      return kg >= first and kg <= last
    end
    local function in_range(key)
      local kg = runtime.key_group(key, maxp)
      return kg >= first and kg <= last
    end
    for _, st in ipairs(states) do
      for name, owner in pairs(owners) do
        op.event_timers:restore(owner, st.etimers[name], mine, opts.fix_timer)
        ctx.processing_timers:restore(owner, st.ptimers[name], mine, opts.fix_timer)
      end
      if opts.extra_restore and st.extra then opts.extra_restore(st.extra, in_range) end
    end
  end
end

function builders.reduce(op, ctx)
  local spec, emit = op.spec, op.emit
  local key_of, step = M.key_selector(spec.key), M.reducer(spec)
  local acc, keys = {}, {}
  if ctx.mode == "batch" then
    -- one final record per key at end of input
    op.finish = function()
      for sk, a in pairs(acc) do emit(a) end
      acc, keys = {}, {}
    end
    return function(v)
      local key = key_of(v)
      local sk = type(key) == "table" and encode_string(key) or key
      acc[sk] = step(acc[sk], v)
    end
  end
  -- checkpoints: the accumulators by key group, so a restore may rescale
  local runtime = require("flow.runtime.task")
  local maxp = ctx.desc.max_parallelism
  op.snapshot = function()
    local by_kg = {}
    for sk, a in pairs(acc) do
      local kg = runtime.key_group(keys[sk], maxp)
      local g = by_kg[kg]
      if not g then
        g = {}
        by_kg[kg] = g
      end
      g[#g + 1] = { keys[sk], a }
    end
    return by_kg
  end
  op.restore = function(states)
    local first, last = require("flow.runtime.checkpoint").key_group_range(ctx.subtask, ctx.parallelism, maxp)
    for _, by_kg in ipairs(states) do
      for kg, entries in pairs(by_kg) do
        if kg >= first and kg <= last then
          for _, e in ipairs(entries) do
            local sk = type(e[1]) == "table" and encode_string(e[1]) or e[1]
            acc[sk], keys[sk] = e[2], e[1]
          end
        end
      end
    end
  end
  -- streaming: a running result per record; emit a copy, the accumulator
  -- stays ours
  local copy = not op.emit_is_encoded
  return function(v)
    local key = key_of(v)
    local sk = type(key) == "table" and encode_string(key) or key
    local prev = acc[sk]
    if prev == nil then keys[sk] = key end
    local a = step(prev, v)
    acc[sk] = a
    if copy then return emit(shallow_copy(a)) end
    return emit(a)
  end
end

--- Keyed state backend and event-time timer service of an operator,
--- created once per operator (two inputs share them).
local function keyed_services(op, ctx)
  if not op.backend then
    local runtime = require("flow.runtime.task")
    local maxp = ctx.desc.max_parallelism
    op.backend = state.new(function(k) return runtime.key_group(k, maxp) end)
    op.event_timers = timers.new()
  end
  return op.backend, op.event_timers
end

--- The context handed to process functions: side outputs, the record's
--- timestamp, the watermark, and on keyed streams state and timers. Timer
--- callbacks run fns:on_timer(ts, ctx, out) with the timer's key current.
local function process_context(op, ctx, key_of, fns, out)
  local side = op.side
  local backend, etimers
  if key_of then backend, etimers = keyed_services(op, ctx) end
  local pctx = {}
  function pctx:output(tag, v)
    local name = type(tag) == "table" and tag.name or tag
    local emit = side[name]
    if emit then return emit(v) end
  end
  function pctx:current_key()
    if not key_of then error("current_key() needs a keyed stream: call key_by(...) before process()", 2) end
    return backend.key
  end
  function pctx:timestamp() return ctx.ts end
  function pctx:current_watermark() return op.current_wm end
  function pctx:counter(name) return ctx:counter(name) end
  function pctx:subtask_index() return ctx.subtask end
  function pctx:parallelism() return ctx.parallelism end
  function pctx:current_processing_time() return tonumber(ctx.C.flow_now_ms()) end
  local function need_key(what)
    if not key_of then error(what .. "() needs a keyed stream: call key_by(...) before process()", 3) end
  end
  function pctx:register_processing_time_timer(ts)
    need_key("register_processing_time_timer")
    ctx.processing_timers:register(self, backend.sk, ts, nil, backend.key)
  end
  function pctx:delete_processing_time_timer(ts)
    need_key("delete_processing_time_timer")
    ctx.processing_timers:delete(self, backend.sk, ts)
  end
  function pctx:register_event_time_timer(ts)
    need_key("register_event_time_timer")
    etimers:register(self, backend.sk, ts, nil, backend.key)
  end
  function pctx:delete_event_time_timer(ts)
    need_key("delete_event_time_timer")
    etimers:delete(self, backend.sk, ts)
  end
  function pctx:value_state(name, default)
    need_key("value_state")
    return backend:value_state(name, default)
  end
  function pctx:list_state(name)
    need_key("list_state")
    return backend:list_state(name)
  end
  function pctx:map_state(name)
    need_key("map_state")
    return backend:map_state(name)
  end
  function pctx:reducing_state(name, f)
    need_key("reducing_state")
    return backend:reducing_state(name, f)
  end
  -- timers: processing time from the task's service, event time from the
  -- operator's (advanced by watermarks)
  function pctx:on_processing_timer(_, ts, _, key)
    if type(fns.on_timer) ~= "function" then return end
    backend:set_key(key)
    local saved = ctx.ts
    ctx.ts = nil
    fns:on_timer(ts, self, out)
    ctx.ts = saved
  end
  function pctx:on_event_timer(ts, key)
    if type(fns.on_timer) ~= "function" then return end
    backend:set_key(key)
    ctx.ts = ts -- output of an event-time timer carries its time
    fns:on_timer(ts, self, out)
  end
  return pctx
end

--- on_watermark for operators with event-time timers: fire what is due,
--- then pass the watermark on (Flink's AbstractStreamOperator).
local function fire_event_timer(owner, _, ts, _, key) owner:on_event_timer(ts, key) end

local function timer_watermarks(op, ctx)
  op.on_watermark = function(wm)
    op.current_wm = wm
    if op.event_timers then
      op.event_timers:advance(wm, fire_event_timer)
      ctx.ts = nil
    end
    return op.emit_wm(wm)
  end
end

local function open_close(op, fns, pctx)
  if type(fns.open) == "function" then fns:open(pctx) end
  if type(fns.close) == "function" then
    local fin = op.finish
    op.finish = function()
      if fin then fin() end
      fns:close()
    end
  end
end

function builders.process(op, ctx)
  local fns, emit = op.spec.fn, op.emit
  local out = { collect = function(_, x) return emit(x) end }
  local key_of = M.key_selector(op.spec.key)
  local pctx = process_context(op, ctx, key_of, fns, out)
  timer_watermarks(op, ctx)
  if key_of then keyed_checkpoints(op, ctx, { p = pctx }) end
  open_close(op, fns, pctx)
  local pe = fns.process_element
  if key_of then
    local backend = op.backend
    return function(v)
      backend:set_key(key_of(v))
      return pe(fns, v, pctx, out)
    end
  end
  return function(v) return pe(fns, v, pctx, out) end
end

--- Two-input operators (connect): build returns { push1, push2 }.
function builders.co_map(op)
  local f1, f2, emit = op.spec.fn1, op.spec.fn2, op.emit
  return { function(v) return emit(f1(v)) end, function(v) return emit(f2(v)) end }
end

function builders.co_flat_map(op)
  local f1, f2, emit = op.spec.fn1, op.spec.fn2, op.emit
  local out = { collect = function(_, x) return emit(x) end }
  return { function(v) return f1(v, out) end, function(v) return f2(v, out) end }
end

function builders.co_process(op, ctx)
  local fns, emit = op.spec.fn, op.emit
  local out = { collect = function(_, x) return emit(x) end }
  local keys = op.spec.keys or {}
  local k1, k2 = M.key_selector(keys[1]), M.key_selector(keys[2])
  local c1 = process_context(op, ctx, k1, fns, out)
  local c2 = process_context(op, ctx, k2, fns, out)
  timer_watermarks(op, ctx)
  if op.backend then keyed_checkpoints(op, ctx, { c1 = c1, c2 = c2 }) end
  open_close(op, fns, c1)
  local p1, p2 = fns.process_element1, fns.process_element2
  local backend = op.backend
  return {
    function(v)
      if k1 then backend:set_key(k1(v)) end
      return p1(fns, v, c1, out)
    end,
    function(v)
      if k2 then backend:set_key(k2(v)) end
      return p2(fns, v, c2, out)
    end,
  }
end

--- Interval join (Flink's IntervalJoinOperator): both sides buffered in
--- keyed state; a left element at t joins right elements in
--- [t + lower, t + upper]; buffers are cleaned by event-time timers once the
--- watermark says no partner can come any more. The output's timestamp is
--- the larger of the two.
function builders.interval_join(op, ctx)
  local spec, emit = op.spec, op.emit
  local f, lower, upper = spec.f, spec.lower, spec.upper
  local keys = spec.keys
  local k1, k2 = M.key_selector(keys[1]), M.key_selector(keys[2])
  local backend, etimers = keyed_services(op, ctx)
  local out = { collect = function(_, x) return emit(x) end }
  local jctx = { left_ts = nil, right_ts = nil }
  function jctx:timestamp() return ctx.ts end
  function jctx:left_timestamp() return self.left_ts end
  function jctx:right_timestamp() return self.right_ts end
  function jctx:current_key() return backend.key end
  function jctx:output(tag, v)
    local e = op.side[type(tag) == "table" and tag.name or tag]
    if e then e(v) end
  end
  local owner = {}
  function owner:on_event_timer(ts, data)
    backend:set_key(data.key)
    local l = backend:get(data.side)
    if not l then return end
    local kept = {}
    for i = 1, #l do if l[i].cleanup > ts then kept[#kept + 1] = l[i] end end
    backend:put(data.side, #kept > 0 and kept or nil)
  end
  local function join(l, lts, r, rts)
    jctx.left_ts, jctx.right_ts = lts, rts
    local saved = ctx.ts
    ctx.ts = lts > rts and lts or rts
    f(l, r, jctx, out)
    ctx.ts = saved
  end
  local function buffer(side, v, ts, cleanup)
    local l = backend:get(side)
    if l == nil then
      l = {}
      backend:put(side, l)
    end
    l[#l + 1] = { v = v, ts = ts, cleanup = cleanup }
    if cleanup ~= math.huge then
      etimers:register(owner, backend.sk, cleanup, side, { key = backend.key, side = side })
    end
  end
  local function need_ts()
    local ts = ctx.ts
    if ts == nil then
      error("interval_join needs timestamps: call assign_timestamps_and_watermarks(...) first", 0)
    end
    return ts
  end
  timer_watermarks(op, ctx)
  keyed_checkpoints(op, ctx, { j = owner }, { timer_key = function(d1) return d1.key end })
  return {
    function(v)
      local ts = need_ts()
      if ts < op.current_wm then return end -- late: dropped, as Flink
      backend:set_key(k1(v))
      for _, r in ipairs(backend:get("right") or {}) do
        if r.ts >= ts + lower and r.ts <= ts + upper then join(v, ts, r.v, r.ts) end
      end
      buffer("left", v, ts, ts + upper)
    end,
    function(v)
      local ts = need_ts()
      if ts < op.current_wm then return end
      backend:set_key(k2(v))
      for _, l in ipairs(backend:get("left") or {}) do
        if ts >= l.ts + lower and ts <= l.ts + upper then join(l.v, l.ts, v, ts) end
      end
      buffer("right", v, ts, ts - lower)
    end,
  }
end

--- Keyed and all-windows (window_all): see flow.window_operator.
function builders.window(op, ctx)
  return require("flow.runtime.window_operator").build(op, ctx, M.key_selector, M.reducer, keyed_checkpoints)
end

--- assign_timestamps_and_watermarks: sets each record's timestamp and
--- emits watermarks periodically, on a processing-time timer (Flink's
--- pipeline.auto-watermark-interval, 200 ms), not per record. Watermarks
--- from upstream are dropped except the final one (end of input).
function builders.timestamps(op, ctx)
  local st, emit = op.spec.strategy, op.emit
  local assign = st.assigner
  local delay = st.delay or 0
  local idleness = st.idleness
  local interval = op.spec.interval or 200
  local C = ctx.C
  local max_ts = -math.huge
  local last_wm = -math.huge
  local last_record = tonumber(C.flow_now_ms())
  local idle = false
  local gen = {}
  local function emit_periodic()
    local wm = max_ts - delay - 1
    if wm > last_wm then
      last_wm = wm
      op.current_wm = wm
      op.emit_wm(wm)
    end
  end
  function gen:on_processing_timer(_, ts)
    emit_periodic()
    if idleness and not idle and ts - last_record >= idleness then
      idle = true
      op.emit_status(true)
    end
    if last_wm ~= math.huge then ctx.processing_timers:register(gen, "", ts + interval) end
  end
  ctx.processing_timers:register(gen, "", tonumber(C.flow_now_ms()) + interval)
  op.on_watermark = function(wm)
    if wm == math.huge and last_wm ~= math.huge then
      last_wm = wm
      op.current_wm = wm
      op.emit_wm(wm)
    end
  end
  op.on_status = function() end -- this operator decides idleness itself
  return function(v)
    local ts
    if assign then ts = assign(v, ctx.ts) else ts = ctx.ts end
    if type(ts) ~= "number" then
      error("the timestamp assigner returned " .. tostring(ts) .. " (a number of milliseconds is needed)", 0)
    end
    ctx.ts = ts
    if ts > max_ts then max_ts = ts end
    if idleness then
      last_record = tonumber(C.flow_now_ms())
      if idle then
        idle = false
        op.emit_status(false)
      end
    end
    return emit(v)
  end
end

--- Sinks writing text: lines are gathered per input buffer and written with
--- one write call, so lines of parallel subtasks never interleave.
ffi.cdef [[
size_t flow_format_lines(const uint8_t *p, size_t len, const char *prefix, size_t prefix_len,
                         struct flowlua_out *out, size_t *records);
]]

--- Formats encoded records in C (src/runtime/text_format.c) for a text
--- sink: text_raw(p, len) -> bytes consumed (it stops before what only Lua
--- formats: tables other than tuples, in-band events).
local function c_formatter(op, ctx, prefix, put_text)
  local C = ffi.C
  local out = ffi.gc(C.flow_out_new(32768), C.flow_out_free)
  local nrec = ffi.new("size_t[1]")
  prefix = prefix or ""
  op.text_raw = function(p, len)
    out.size = 0
    local used = C.flow_format_lines(p, len, prefix, #prefix, out, nrec)
    if out.size > 0 then put_text(out.data, out.size) end
    return tonumber(used), tonumber(nrec[0])
  end
end

local function text_sink(op, ctx, file, prefix)
  local buf = require("string.buffer").new(16384)
  local fmt = format.value
  local function flush()
    if #buf > 0 then
      file:write(buf:get())
      file:flush()
    end
  end
  ctx.flushers[#ctx.flushers + 1] = flush
  op.finish = flush
  c_formatter(op, ctx, prefix, function(p, n)
    buf:putcdata(p, n)
    if #buf >= 16384 then flush() end
  end)
  if prefix and prefix ~= "" then
    return function(v)
      buf:put(prefix, fmt(v), "\n")
      if #buf >= 16384 then flush() end
    end
  end
  return function(v)
    buf:put(fmt(v), "\n")
    if #buf >= 16384 then flush() end
  end
end

function builders.print(op, ctx)
  local p = op.spec.prefix
  local prefix
  if ctx.parallelism > 1 then
    prefix = (p and p ~= "" and (p .. ":") or "") .. (ctx.subtask + 1) .. "> "
  elseif p and p ~= "" then
    prefix = p .. "> "
  end
  return text_sink(op, ctx, io.stdout, prefix)
end

function builders.write_text(op, ctx)
  local path = op.spec.path
  if ctx.parallelism > 1 then path = path .. "/" .. (ctx.subtask + 1) end
  local f, err = io.open(path, "wb")
  if not f then error("write_as_text: cannot open '" .. path .. "': " .. tostring(err):gsub("^.-: ", ""), 0) end
  local push = text_sink(op, ctx, f)
  local flush = op.finish
  op.finish = function()
    flush()
    f:close()
  end
  return push
end

--- execute_and_collect's sink: encoded records go to the client in whole
--- buffers. With a limit, once the job collected that many records the job
--- is canceled (as Flink's collect iterator does) and later records dropped.
function builders.collect(op, ctx)
  local C, task = ctx.C, ctx.task
  local size = 32 * 1024
  local limit = op.spec.limit
  local b = C.flow_task_buffer(task, 0)
  if b == nil then error("out of memory allocating a buffer", 0) end
  local off, count, done = 0, 0, false
  local function hand_over()
    b.size = off
    local total = C.flow_task_collect(task, b, count) -- C owns b from here
    b, off, count = nil, 0, 0
    if total < 0 then
      error("execute_and_collect: the results exceed 256 MiB; write them to a sink instead", 0)
    end
    if limit and total >= limit then
      done = true
      C.flow_task_cancel_job(task)
      return
    end
    b = C.flow_task_buffer(task, 0)
    if b == nil then error("out of memory allocating a buffer", 0) end
  end
  op.finish = function()
    if done then return end
    if off > 0 then hand_over() end
    if b ~= nil then C.flow_task_recycle(task, b) end
    b = nil
  end
  ctx.flushers[#ctx.flushers + 1] = function()
    if not done and off > 0 then hand_over() end
  end
  return function(v)
    if done then return end
    if b == nil then error("execute_and_collect: the sink is closed", 0) end
    local pos = codec.encode(v, b.data, off, size)
    if not pos then
      if off > 0 then
        hand_over()
        if done then return end
      end
      pos = codec.encode(v, b.data, 0, size)
      if not pos then -- oversize record: alone in a buffer of its size
        local n = codec.size(v)
        local big = C.flow_task_buffer(task, n)
        if big == nil then error("out of memory allocating a buffer", 0) end
        C.flow_task_recycle(task, b)
        b = big
        off = codec.encode(v, b.data, 0, n)
        count = 1
        hand_over()
        return
      end
    end
    off = pos
    count = count + 1
    if limit and count >= limit then hand_over() end
  end
end

--- flow.sinks.file{ path = dir }: Flink's FileSink with two-phase commit.
--- Records go to a hidden in-progress part file; a checkpoint closes it
--- and makes it pending; the checkpoint's completion renames pending files
--- to their final, visible names `part-<subtask>-<n>`. A restore commits
--- what the restored checkpoint covered and deletes every other hidden
--- file of this subtask (written after it, by the failed attempt). Without
--- checkpoints files are committed at the end of input.
function builders.file_sink(op, ctx)
  local dir = op.spec.path
  local sub = ctx.subtask
  local checkpointing = ctx.desc.checkpoint_dir ~= nil
  local fmt = format.value
  local buf = require("string.buffer").new(16384)
  local n, file, name = 0, nil, nil
  local pending = {} -- checkpoint id -> { part numbers }
  local cleaned = false
  -- hidden files of this subtask not covered by a restored checkpoint come
  -- from an attempt that failed: they must never be committed
  local function cleanup()
    cleaned = true
    local p = io.popen("ls -1a '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
    local prefix = ".part-" .. sub .. "-"
    for f in p:lines() do
      if f:sub(1, #prefix) == prefix then os.remove(dir .. "/" .. f) end
    end
    p:close()
  end
  local function path_of(k, state)
    if state == "final" then return string.format("%s/part-%d-%d", dir, sub, k) end
    return string.format("%s/.part-%d-%d.%s", dir, sub, k, state)
  end
  local function write_out()
    if #buf == 0 then return end
    if not cleaned then cleanup() end
    if file == nil then
      name = n
      n = n + 1
      local err
      file, err = io.open(path_of(name, "inprogress"), "wb")
      if not file then error("file sink: cannot open a part file in " .. dir .. ": " .. tostring(err), 0) end
    end
    file:write(buf:get())
  end
  local function close_part(to)
    write_out()
    if file == nil then return nil end
    file:close()
    file = nil
    local ok, err = os.rename(path_of(name, "inprogress"), path_of(name, to))
    if not ok then error("file sink: " .. tostring(err), 0) end
    return name
  end
  local function commit(k)
    local ok, err, code = os.rename(path_of(k, "pending"), path_of(k, "final"))
    -- already committed (a restore commits what the checkpoint covered) is fine
    if not ok and code ~= 2 then error("file sink: cannot commit: " .. tostring(err), 0) end
  end
  ctx.flushers[#ctx.flushers + 1] = write_out
  c_formatter(op, ctx, nil, function(p, k)
    buf:putcdata(p, k)
    if #buf >= 16384 then write_out() end
  end)
  op.snapshot = function(id)
    local k = close_part("pending")
    if k then pending[id] = { k } end
    local copy = {}
    for cid, parts in pairs(pending) do copy[cid] = parts end
    return { next = n, pending = copy }
  end
  op.notify_complete = function(id)
    for cid, parts in pairs(pending) do
      if cid <= id then
        for _, k in ipairs(parts) do commit(k) end
        pending[cid] = nil
      end
    end
  end
  op.restore = function(states, rescaled)
    if rescaled then error("the file sink cannot change its parallelism on restore", 0) end
    local st = states[1]
    -- the restored checkpoint completed: what it had pending is committed
    for _, parts in pairs(st.pending or {}) do
      for _, k in ipairs(parts) do commit(k) end
    end
    n = st.next or 0
    cleanup() -- anything else hidden of this subtask came after the checkpoint
  end
  op.finish = function()
    -- with checkpoints the job's client commits after the whole job finished
    close_part(checkpointing and "pending" or "final")
  end
  return function(v)
    buf:put(fmt(v), "\n")
    if #buf >= 16384 then write_out() end
  end
end

-- ------------------------------------------------------------ C operators

ffi.cdef [[
typedef struct flowlua_out {
  uint8_t *data; size_t size; size_t capacity; size_t records;
  int (*grow)(struct flowlua_out *o, size_t need);
} flowlua_out_t;
typedef struct flowlua_operator {
  int abi_version;
  const char *name;
  void *(*open)(const char *config, size_t config_len, int subtask, int parallelism, char *err, size_t errlen);
  int (*process)(void *self, const uint8_t *records, size_t len, size_t count, flowlua_out_t *out, char *err,
                 size_t errlen);
  int (*finish)(void *self, flowlua_out_t *out, char *err, size_t errlen);
  void (*close)(void *self);
} flowlua_operator_t;
flowlua_out_t *flow_out_new(size_t capacity);
void flow_out_free(flowlua_out_t *o);
]]

local C_BATCH = 32 * 1024

--- An instance of a C operator: process(ptr, len, count) runs a batch and
--- hands the output to `sink(out)`; finish() flushes held-back output.
local function c_instance(name, library, symbol, config, ctx, sink)
  local C = ffi.C
  pcall(ffi.cdef, "const flowlua_operator_t *" .. symbol .. "(void);")
  local ok, get = pcall(function()
    if library then return ffi.load(library)[symbol] end
    return C[symbol]
  end)
  if not ok then
    error(name .. ": cannot find C operator '" .. symbol .. "'" .. (library and (" in " .. library) or "") ..
      ": " .. tostring(get), 0)
  end
  local desc = get()
  if desc == nil or desc.abi_version ~= 1 then
    error(name .. ": '" .. symbol .. "' is not a flowlua C operator (ABI version 1)", 0)
  end
  local err = ffi.new("char[512]")
  config = config or ""
  local self = desc.open(config, #config, ctx.subtask, ctx.parallelism, err, 512)
  if self == nil then error(name .. ": " .. ffi.string(err), 0) end
  local out = ffi.gc(C.flow_out_new(C_BATCH), C.flow_out_free)
  -- closed when the task's Lua state goes away, whatever way the task ends
  local closer = ffi.gc(ffi.new("char[1]"), function() desc.close(self) end)
  local inst = { _closer = closer, out = out }
  function inst.process(p, len, count)
    out.size, out.records = 0, 0
    if desc.process(self, p, len, count, out, err, 512) ~= 0 then error(name .. ": " .. ffi.string(err), 0) end
    if out.records > 0 then sink(out) end
  end
  function inst.finish()
    if desc.finish == nil then return end
    out.size, out.records = 0, 0
    if desc.finish(self, out, err, 512) ~= 0 then error(name .. ": " .. ffi.string(err), 0) end
    if out.records > 0 then sink(out) end
  end
  return inst
end

--- A C operator in a chain: Lua records are encoded into a batch; a batch
--- goes to C once full, or when the task is about to wait. Adjacent C
--- operators pass batches to each other without Lua in between; a C
--- operator in front of a keyed sum/min/max shuffle pre-aggregates in C too.
--- Records leaving a C operator carry no event timestamp.
function builders.c_op(op, ctx)
  local spec, emit = op.spec, op.emit
  local decode = codec.decode
  -- where the output goes: the next C operator, a C combiner, or Lua
  local next_c
  local outs = op.outputs
  if #outs == 1 and next(op.side) == nil then
    local o = outs[1]
    if o.op and ctx.chain[o.op].c_batch then
      next_c = ctx.chain[o.op].c_batch
    elseif o.net then
      local w = ctx.writers[o.net]
      local t = w.target_spec
      if ctx.mode == "batch" and t and t.kind == "reduce" and t.key and type(t.key.field) == "number"
          and type(t.field) == "number" and t.key.field ~= t.field
          and (t.agg == "sum" or t.agg == "min" or t.agg == "max") then
        local to_writer = function(o2)
          local p, n, off = o2.data, tonumber(o2.size), 0
          local v
          while off < n do
            v, off = decode(p, off)
            emit(v)
          end
        end
        if spec.symbol == "flowlua_op_words" and not spec.library and t.agg == "sum"
            and t.field == 2 and t.key.field == 1 then
          -- words() then sum(2) by field 1: one fused C pass tokenizes and
          -- counts; the (word, 1) records are never written out
          op.fused = c_instance(op.name .. " + combiner", nil, "flowlua_op_aggregate", "sum 2 1 batch words",
            ctx, to_writer)
        else
          local comb = c_instance(op.name .. " (combiner)", nil, "flowlua_op_aggregate",
            t.agg .. " " .. t.field .. " " .. t.key.field .. " batch", ctx, to_writer)
          next_c = comb.process
          op.combiner = comb
        end
      end
    end
  end
  local function to_lua(o)
    local p, n, off = o.data, tonumber(o.size), 0
    local v
    ctx.ts = nil
    while off < n do
      v, off = decode(p, off)
      emit(v)
    end
  end
  -- a text sink right after: format the batch in C, no Lua values at all
  local text_raw
  if not next_c and #outs == 1 and outs[1].op and next(op.side) == nil then
    text_raw = ctx.chain[outs[1].op].text_raw
  end
  local inst = op.fused or c_instance(op.name, spec.library, spec.symbol, spec.config, ctx, function(o)
    if next_c then return next_c(o.data, o.size, o.records) end
    if text_raw then
      local p, n = o.data, tonumber(o.size)
      local used = text_raw(p, n)
      if used == n then return end
      -- what C does not format (a Lua table) goes through Lua from there
      local v, off = nil, used
      ctx.ts = nil
      while off < n do
        v, off = decode(p, off)
        emit(v)
      end
      return
    end
    return to_lua(o)
  end)
  op.c_batch = inst.process
  local inbuf = ffi.new("uint8_t[?]", C_BATCH)
  local off, count = 0, 0
  local function run()
    if count == 0 then return end
    local len, n = off, count
    off, count = 0, 0
    inst.process(inbuf, len, n)
  end
  ctx.flushers[#ctx.flushers + 1] = run
  op.finish = function()
    run()
    inst.finish()
    if op.combiner then op.combiner.finish() end
  end
  local encode, size = codec.encode, codec.size
  return function(v)
    local pos = encode(v, inbuf, off, C_BATCH)
    if not pos then
      run()
      pos = encode(v, inbuf, 0, C_BATCH)
      if not pos then -- larger than a batch: alone
        local n = size(v)
        local big = ffi.new("uint8_t[?]", n)
        encode(v, big, 0, n)
        inst.process(big, n, 1)
        return
      end
    end
    off = pos
    count = count + 1
  end
end

function builders.discard()
  return function() end
end

--- A user sink: `fn(v, ctx)` or `{ open = f, invoke = f, close = f }`.
function builders.sink(op, ctx)
  local s = op.spec.sink
  if type(s) == "function" then
    return function(v) s(v, ctx) end
  end
  if s.open then s:open(ctx) end
  if s.close then op.finish = function() s:close() end end
  local invoke = s.invoke
  return function(v) invoke(s, v, ctx) end
end

---@return fun(v:any) push
function M.build(op, ctx)
  if op.spec.source then
    M.source_checkpoints(op, ctx)
    return nil
  end
  local b = builders[op.spec.kind]
  if not b then error("unknown operator kind '" .. tostring(op.spec.kind) .. "'") end
  return b(op, ctx)
end

-- ---------------------------------------------------------------- sources

local sources = {}

--- Every CHECK_EVERY records a source checks for cancellation and flushes
--- on the buffer timeout.
local CHECK_EVERY = 1024

--- Sources report their position to maybe_flush (checkpoints save it) and
--- start from a restored one (op.restored_position).
function sources.elements(op, ctx, emit)
  local xs = op.spec.elements
  local maybe_flush = ctx.maybe_flush
  local first = op.restored_position or 1
  local last = op.spec.n or #xs
  for i = first, last do
    emit(xs[i])
    if i % CHECK_EVERY == 0 then maybe_flush(i + 1, CHECK_EVERY) end
  end
  ctx.C.flow_task_count(ctx.task, (last - first + 1) % CHECK_EVERY, 0)
end

--- from_sequence(from, to): inclusive, split evenly across subtasks.
function sources.sequence(op, ctx, emit)
  local from, to = op.spec.from, op.spec.to
  local n = to - from + 1
  local p, i = ctx.parallelism, ctx.subtask
  local lo = from + floor(i * n / p)
  local hi = from + floor((i + 1) * n / p) - 1
  local maybe_flush = ctx.maybe_flush
  local min = math.min
  -- chunks of CHECK_EVERY: the inner loop is nothing but the chain
  for start = op.restored_position or lo, hi, CHECK_EVERY do
    local last = min(start + CHECK_EVERY - 1, hi)
    for x = start, last do emit(x) end
    maybe_flush(last + 1, last - start + 1)
  end
end

--- read_text_file: subtask i reads the byte range [i*size/p, (i+1)*size/p);
--- a line belongs to the split in which it starts (as Flink's
--- DelimitedInputFormat), so every line is read exactly once. In the
--- MiniCluster without checkpoints (desc.lazy_splits), when the lines go to
--- Lua, the file is cut into many splits that the subtasks take on request
--- (Flink's InputSplitAssigner), so a faster subtask reads more and none idles.
ffi.cdef [[
typedef struct flow_line_reader flow_line_reader_t;
flow_line_reader_t *flow_lines_open(const char *path, int64_t lo, int64_t hi, int64_t start_at, char *err,
                                    size_t errlen);
int64_t flow_lines_next(flow_line_reader_t *r, uint8_t *out, size_t cap, size_t *count, uint8_t **big,
                        size_t *big_len);
int64_t flow_lines_position(flow_line_reader_t *r);
void flow_lines_close(flow_line_reader_t *r);
void free(void *p);
]]

--- read_text_file straight into a C operator: C reads and splits the
--- lines into record batches, no Lua string per line.
local function text_file_to_c(op, ctx, c_batch, lo, hi, cap, no_total)
  local C = ffi.C
  local err = ffi.new("char[512]")
  local r = C.flow_lines_open(op.spec.path, lo, hi, op.restored_position or -1, err, 512)
  if r == nil then error("read_text_file: " .. ffi.string(err), 0) end
  r = ffi.gc(r, C.flow_lines_close)
  cap = cap or 32 * 1024
  local buf = ffi.new("uint8_t[?]", cap)
  local cnt, big, big_len = ffi.new("size_t[1]"), ffi.new("uint8_t *[1]"), ffi.new("size_t[1]")
  local task, maybe_flush = ctx.task, ctx.maybe_flush
  local last = tonumber(C.flow_lines_position(r))
  C.flow_task_input_progress(task, last - lo, no_total and 0 or hi - lo)
  while true do
    local n = C.flow_lines_next(r, buf, cap, cnt, big, big_len)
    if n < 0 then error("read_text_file: cannot read '" .. op.spec.path .. "'", 0) end
    local c = tonumber(cnt[0])
    if c == 0 then break end
    if big[0] ~= nil then
      local b = big[0]
      local ok, e = pcall(c_batch, b, big_len[0], 1)
      C.free(b)
      if not ok then error(e, 0) end
    else
      c_batch(buf, n, c)
    end
    local pos = tonumber(C.flow_lines_position(r))
    C.flow_task_input_progress(task, math.min(pos, hi) - last, 0)
    last = math.min(pos, hi)
    maybe_flush(pos, c)
  end
  ffi.gc(r, nil) -- now, not at a later collection: a split's fd and buffer go at its end
  C.flow_lines_close(r)
end

local SPLIT_MIN = 256 * 1024 -- bytes: smaller inputs are one split
local SPLITS_PER_SUBTASK = 8

--- Reads [lo, hi) with read(lo, hi, no_total), or, with lazy splits, every
--- split this subtask gets on request.
local function read_splits(ctx, size, read, static)
  local p, i = ctx.parallelism, ctx.subtask
  if static or not ctx.desc.lazy_splits or p == 1 then
    return read(floor(i * size / p), floor((i + 1) * size / p), false)
  end
  local C = ffi.C
  local split = math.max(SPLIT_MIN, math.ceil(size / (p * SPLITS_PER_SUBTASK)))
  local n = math.ceil(size / split)
  if i == 0 then C.flow_task_input_progress(ctx.task, 0, size) end -- the total, once
  while true do
    local s = tonumber(C.flow_task_next_split(ctx.task))
    if s >= n then return end
    read(s * split, math.min((s + 1) * split, size), true)
  end
end

function sources.text_file(op, ctx, emit)
  local path = op.spec.path
  local f, err = io.open(path, "rb")
  if not f then error("read_text_file: cannot open '" .. path .. "': " .. tostring(err):gsub("^.-: ", ""), 0) end
  local size = f:seek("end")
  f:close()
  -- lines are split in C (src/runtime/line_reader.c) into record batches;
  -- a C operator next in the chain takes them whole, else Lua decodes them
  local outs = op.outputs
  if #outs == 1 and outs[1].op and ctx.chain[outs[1].op].c_batch and next(op.side) == nil then
    -- C operators run at the same speed in every subtask: halves read
    -- contiguously beat splits on request (measured: 0.19 s vs 0.21 s median,
    -- scripts/bench P2); Lua UDFs vary (JIT traces), so they take splits
    local c_batch = ctx.chain[outs[1].op].c_batch
    return read_splits(ctx, size, function(lo, hi, no_total)
      text_file_to_c(op, ctx, c_batch, lo, hi, nil, no_total)
    end, true)
  end
  -- small batches for Lua: checkpoints, cancellation and the buffer
  -- timeout are checked between batches. The batch holds only strings
  -- (tag 6: u8 length, tag 7: u32 length), read here without a call.
  local ffi_string, u32p = ffi.string, ffi.typeof("uint32_t *")
  local function lua_batch(p, len)
    local off, n = 0, tonumber(len)
    while off < n do
      local l
      if p[off] == 6 then
        l = p[off + 1]
        off = off + 2
      else
        l = ffi.cast(u32p, p + off + 1)[0]
        off = off + 5
      end
      emit(ffi_string(p + off, l))
      off = off + l
    end
  end
  return read_splits(ctx, size, function(lo, hi, no_total)
    text_file_to_c(op, ctx, lua_batch, lo, hi, 4096, no_total)
  end)
end

ffi.cdef [[
int flow_socket_connect(const char *host, int port, char *err, size_t errlen);
int64_t flow_fd_read(int fd, uint8_t *buf, size_t cap, int timeout_ms, char *err, size_t errlen);
void flow_fd_close(int fd);
]]

--- Lines from a file descriptor, split on `delim`, until end of stream. A
--- read waits at most 50 ms, so cancellation and the buffer timeout are
--- checked between reads. As Flink's SocketTextStreamFunction, a "\r"
--- before a "\n" delimiter is dropped and a last unterminated line is
--- emitted at the end.
local function read_lines(fd, delim, ctx, emit, what)
  local C = ffi.C
  local cap = 65536
  local buf = ffi.new("uint8_t[?]", cap)
  local err = ffi.new("char[256]")
  local pending = ""
  local lines = 0
  local find, sub, byte = string.find, string.sub, string.byte
  local nl = delim == "\n"
  local dl = #delim
  local maybe_flush = ctx.maybe_flush
  while true do
    local n = tonumber(C.flow_fd_read(fd, buf, cap, 50, err, 256))
    if n == -2 then error(what .. ": read failed: " .. ffi.string(err), 0) end
    if n == 0 then break end
    if n > 0 then
      local data = pending .. ffi.string(buf, n)
      local pos = 1
      while true do
        local i = find(data, delim, pos, true)
        if not i then break end
        local line = sub(data, pos, i - 1)
        if nl and byte(line, -1) == 13 then line = sub(line, 1, -2) end
        emit(line)
        lines = lines + 1
        pos = i + dl
      end
      pending = sub(data, pos)
    end
    maybe_flush(nil, lines)
    lines = 0
  end
  if pending ~= "" then
    if nl and byte(pending, -1) == 13 then pending = sub(pending, 1, -2) end
    emit(pending)
  end
end

--- socket_text_stream(host, port [, delimiter]): unbounded until the peer
--- closes the connection.
function sources.socket(op, ctx, emit)
  local spec = op.spec
  local err = ffi.new("char[256]")
  local fd = ffi.C.flow_socket_connect(spec.host, spec.port, err, 256)
  if fd < 0 then error("socket_text_stream: " .. ffi.string(err), 0) end
  local ok, e = pcall(read_lines, fd, spec.delimiter or "\n", ctx, emit, "socket_text_stream")
  ffi.C.flow_fd_close(fd)
  if not ok then error(e, 0) end
end

--- stdin(): lines of standard input.
function sources.stdin(op, ctx, emit)
  read_lines(0, "\n", ctx, emit, "stdin")
end

--- add_source(fn | { run = fn, cancel = fn }): fn(ctx) calls ctx:collect(v).
function sources.user(op, ctx, emit)
  local s = op.spec.fn
  local maybe_flush = ctx.maybe_flush
  local sctx
  sctx = {
    -- a user source may be slow: check the buffer timeout on every record
    collect = function(_, v)
      ctx.ts = nil
      emit(v)
      maybe_flush(nil, 1)
    end,
    collect_with_timestamp = function(_, v, ts)
      ctx.ts = ts
      emit(v)
      ctx.ts = nil
      maybe_flush(nil, 1)
    end,
    emit_watermark = function(_, wm)
      ctx.ts = nil
      op.on_watermark(wm)
    end,
    is_running = function() return ctx.C.flow_task_canceled(ctx.task) == 0 end,
    subtask_index = function() return ctx.subtask end,
    parallelism = function() return ctx.parallelism end,
    counter = function(_, name) return ctx:counter(name) end,
    --- Waits ms milliseconds while output is still flushed on the buffer
    --- timeout, timers fire and cancellation is noticed.
    sleep = function(_, ms)
      local C = ctx.C
      local deadline = tonumber(C.flow_mono_ms()) + ms
      while true do
        maybe_flush()
        local left = deadline - tonumber(C.flow_mono_ms())
        if left <= 0 then return end
        C.flow_sleep_ms(math.min(left, 20))
      end
    end,
  }
  if type(s) == "function" then
    s(sctx)
  else
    -- { run = fn, cancel = fn }: cancel() is called when the job cancels us
    local ok, err = pcall(s.run, s, sctx)
    if not ok then
      if err == ctx.CANCELED and type(s.cancel) == "function" then s:cancel() end
      error(err, 0)
    end
  end
end

function M.run_source(op, ctx, _)
  if op.finished_on_restore then return end
  local kind = op.spec.kind
  local run = sources[kind]
  if not run then error("unknown source kind '" .. tostring(kind) .. "'") end
  run(op, ctx, op.emit)
end

--- A source's checkpoint state: where it would resume.
function M.source_checkpoints(op, ctx)
  local kind = op.spec.kind
  if kind == "socket" or kind == "stdin" then return end -- cannot rewind
  if kind == "user" then
    local s = op.spec.fn
    if type(s) ~= "table" or type(s.snapshot_state) ~= "function" then return end
    op.snapshot = function() return { user = s:snapshot_state() } end
    op.restore = function(states, rescaled)
      if rescaled then error("the source '" .. op.name .. "' cannot change its parallelism on restore", 0) end
      if type(s.restore_state) == "function" then s:restore_state(states[1].user) end
    end
    return
  end
  op.snapshot = function() return { position = ctx.source_position } end
  op.restore = function(states, rescaled)
    if rescaled then error("the source '" .. op.name .. "' cannot change its parallelism on restore", 0) end
    op.restored_position = states[1].position
  end
end

return M
