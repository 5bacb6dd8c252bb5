--- Keyed operators (Flink's StreamGroupedReduce, KeyedProcessOperator,
--- KeyedCoProcessOperator) and what every keyed operator shares: the keyed
--- state backend and event-time timer service of an operator, the context
--- handed to process functions, watermarks that fire timers, and the
--- snapshot/restore of keyed state and timers by key group.
local codec = require("flow.codec")
local fi = require("flow.ffi")
local keys = require("flow.runtime.keys")
local state = require("flow.runtime.state")
local timers = require("flow.runtime.timers")
local aggregation = require("flow.runtime.operators.aggregation")
local collector = require("flow.runtime.operators.transforms").collector

local encode_string = codec.encode_string
local shallow_copy = aggregation.shallow_copy

local now_ms = fi.now_ms

local M = {}

--- Snapshot and restore of an operator's keyed state and timers; on a
--- restore only the key groups this subtask owns are kept (rescaling).
--- owners: name -> timer owner object; timer_key(d1) gives a timer's key;
--- fix_state/fix_timer re-intern restored values (windows); extra_* carry
--- operator data such as key maps.
---@param op flow.Op
---@param ctx flow.TaskContext
function M.checkpoints(op, ctx, owners, opts)
  opts = opts or {}
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
    local first, last = keys.key_group_range(ctx.subtask, ctx.parallelism, maxp)
    local snaps = {}
    for i, st in ipairs(states) do snaps[i] = st.keyed end
    op.backend:restore(snaps, first, last, opts.fix_state)
    local timer_key = opts.timer_key or function(d1) return d1 end
    local function mine(t)
      local kg = keys.key_group(timer_key(t[4]), maxp)
      return kg >= first and kg <= last
    end
    local function in_range(key)
      local kg = keys.key_group(key, maxp)
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

---@param op flow.Op
---@param ctx flow.TaskContext
function M.reduce(op, ctx)
  local spec, emit = op.spec, op.emit
  local key_of, step = keys.selector(spec.key), aggregation.reducer(spec)
  local acc, key_by_sk = {}, {}
  if ctx.mode == "batch" then
    -- one final record per key at end of input
    op.finish = function()
      for _, a in pairs(acc) do emit(a) end
      acc, key_by_sk = {}, {}
    end
    return function(v)
      local key = key_of(v)
      local sk = type(key) == "table" and encode_string(key) or key
      acc[sk] = step(acc[sk], v)
    end
  end
  -- checkpoints: the accumulators by key group, so a restore may rescale
  local maxp = ctx.desc.max_parallelism
  op.snapshot = function()
    local by_kg = {}
    for sk, a in pairs(acc) do
      local kg = keys.key_group(key_by_sk[sk], maxp)
      local g = by_kg[kg]
      if not g then
        g = {}
        by_kg[kg] = g
      end
      g[#g + 1] = { key_by_sk[sk], a }
    end
    return by_kg
  end
  op.restore = function(states)
    local first, last = keys.key_group_range(ctx.subtask, ctx.parallelism, maxp)
    for _, by_kg in ipairs(states) do
      for kg, entries in pairs(by_kg) do
        if kg >= first and kg <= last then
          for _, e in ipairs(entries) do
            local sk = type(e[1]) == "table" and encode_string(e[1]) or e[1]
            acc[sk], key_by_sk[sk] = e[2], e[1]
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
    if prev == nil then key_by_sk[sk] = key end
    local a = step(prev, v)
    acc[sk] = a
    if copy then return emit(shallow_copy(a)) end
    return emit(a)
  end
end

--- Keyed state backend and event-time timer service of an operator,
--- created once per operator (two inputs share them).
---@param op flow.Op
---@param ctx flow.TaskContext
---@return flow.KeyedStateBackend
---@return flow.TimerService
function M.services(op, ctx)
  if not op.backend then
    op.backend = state.new(keys.assigner(ctx.desc.max_parallelism))
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
  if key_of then backend, etimers = M.services(op, ctx) end
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
  function pctx:current_processing_time() return now_ms() end
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

---@param op flow.Op
---@param ctx flow.TaskContext
function M.timer_watermarks(op, ctx)
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

---@param op flow.Op
---@param ctx flow.TaskContext
function M.process(op, ctx)
  local fns = op.spec.fn
  local out = collector(op)
  local key_of = keys.selector(op.spec.key)
  local pctx = process_context(op, ctx, key_of, fns, out)
  M.timer_watermarks(op, ctx)
  if key_of then M.checkpoints(op, ctx, { p = pctx }) end
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

---@param op flow.Op
---@param ctx flow.TaskContext
function M.co_process(op, ctx)
  local fns = op.spec.fn
  local out = collector(op)
  local ks = op.spec.keys or {}
  local k1, k2 = keys.selector(ks[1]), keys.selector(ks[2])
  local c1 = process_context(op, ctx, k1, fns, out)
  local c2 = process_context(op, ctx, k2, fns, out)
  M.timer_watermarks(op, ctx)
  if op.backend then M.checkpoints(op, ctx, { c1 = c1, c2 = c2 }) end
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

return M
