--- The network writer of one task output (Flink's RecordWriter with its
--- ChannelSelector): one open 32 KiB buffer per downstream channel; records
--- are encoded straight into it (docs/record_format.md) and a full buffer is
--- handed to C (flow_task_emit), so C is called once per buffer, never per
--- record. In-band events (watermarks, idleness, barriers) go to every
--- channel. In batch mode an edge may carry a combiner, which pre-aggregates
--- per key before the shuffle.
local fi = require("flow.ffi")
local codec = require("flow.codec")
local keys = require("flow.runtime.keys")
local aggregation = require("flow.runtime.operators.aggregation")

local encode, encode_string, put_time = codec.encode, codec.encode_string, codec.put_time
local floor, random = math.floor, math.random
local channel_of_key = keys.channel

local BUFFER_SIZE = 32 * 1024
local TAG_TS, TAG_WATERMARK, TAG_STATUS, TAG_BARRIER = fi.TAG_TS, fi.TAG_WATERMARK, fi.TAG_STATUS, fi.TAG_BARRIER
local ECANCELED = fi.ECANCELED

local M = {}

---@class flow.Combiner a batch combiner on a hash edge, decided when the graph was built: `op.spec.out_combine[target node id]` of the producing operator
---@field agg "sum"|"min"|"max"|"min_by"|"max_by"
---@field field integer|string the aggregated field
---@field key { field: integer|string } the key of the aggregation (the edge's key)

---@class flow.RecordWriter
---@field emit fun(v:any) writes a record (the current ctx.ts is its timestamp)
---@field collect fun(self:any, v:any)|nil the same as emit, as a collector's method, when that saves a call (a combiner)
---@field flush fun() hands every non-empty buffer over
---@field watermark fun(wm:number)
---@field status fun(idle:boolean)
---@field barrier fun(id:number) a checkpoint barrier, flushed at once
---@field finish fun() drains the combiner, flushes, gives the buffers back
---@field combiner flow.Combiner|nil

--- The operator of the chain that feeds network output `out`.
---@param chain flow.Op[]
---@param out table desc.outputs[k]
---@return flow.Op|nil
function M.producer(chain, out)
  for i = 1, #chain do
    if chain[i].id == out.source_node then return chain[i] end
  end
  return nil
end

--- The batch combiner of the edge from `op` to network output `out`, or nil.
---@param op flow.Op|nil the producing operator
---@param out table desc.outputs[k]
---@return flow.Combiner|nil
function M.edge_combiner(op, out)
  local oc = op and op.spec.out_combine
  return oc and oc[out.target.id] or nil
end

--- The combiner of a hash edge, written once as a collector's method:
--- collect(_, v) folds v into the accumulator of its key (the writer's emit
--- is `collect(nil, v)`, and a flat_map feeding the edge gets collect as its
--- out:collect, no call in between); drain(write) writes one record per key
--- and starts over.
---@param c flow.Combiner
---@return fun(self:any, v:any) collect
---@return fun(write:fun(v:any)) drain
local function combiner(c)
  local combine = aggregation.reducer(c)
  local key_of = keys.selector(c.key)
  local acc = {}
  local function generic(_, v)
    local key = key_of(v)
    local sk = type(key) == "table" and encode_string(key) or key
    acc[sk] = combine(acc[sk], v)
  end
  local collect = generic
  local kf, sf = c.key and c.key.field, c.field
  if c.agg == "sum" and type(kf) == "number" and type(sf) == "number" and kf ~= sf then
    -- sum of field sf keyed by field kf: no calls per record (same result)
    collect = function(_, v)
      if type(v) ~= "table" then return generic(nil, v) end
      local key = v[kf]
      local a = acc[key]
      if a ~= nil then
        a[sf] = a[sf] + v[sf]
      elseif key == nil or type(key) == "table" then
        return generic(nil, v)
      else
        acc[key] = combine(nil, v)
      end
    end
  end
  local function drain(write)
    local full = acc
    acc = {}
    for _, a in pairs(full) do write(a) end
  end
  return collect, drain
end
M.combiner = combiner

--- A writer for network output k.
---@param ctx flow.TaskContext uses ctx.task, ctx.C (the FFI namespace), ctx.desc, ctx.ts, ctx.CANCELED
---@param k integer the output's index (desc.outputs[k])
---@param out table desc.outputs[k]: partitioner, channels, target
---@param key table|nil the key spec a hash edge partitions by
---@param comb flow.Combiner|nil the edge's batch combiner
---@return flow.RecordWriter
function M.new(ctx, k, out, key, comb)
  local C, task, desc = ctx.C, ctx.task, ctx.desc
  local CANCELED = ctx.CANCELED
  local n = out.channels
  local bufs, datas, offs = {}, {}, {}
  local counts = {} -- records per channel since the last hand-over (metrics)
  for ch = 1, n do counts[ch] = 0 end
  for ch = 1, n do
    local b = C.flow_task_buffer(task, 0)
    if b == nil then error("out of memory allocating a network buffer") end
    bufs[ch], datas[ch], offs[ch] = b, b.data, 0
  end
  local cidx = k - 1

  -- Once handing a buffer over failed (the job is canceled), the writer is
  -- broken for good: C freed that buffer, so nothing may be written any
  -- more, even if user code swallowed the error with pcall.
  local broken = nil
  local function fail(err)
    broken = err
    for ch = 1, n do datas[ch] = nil end
    error(err, 0)
  end

  local om -- the producing operator's counters (flow_operator_metrics_t *), once set
  local function hand_over(ch, size)
    local b = bufs[ch]
    b.size = size
    C.flow_task_count(task, 0, counts[ch])
    if om then C.flow_op_metrics_add(om, 0, counts[ch], 0) end
    counts[ch] = 0
    bufs[ch] = nil
    local rc = C.flow_task_emit(task, cidx, ch - 1, b) -- C owns b from here, even on failure
    if rc < 0 then fail(rc == ECANCELED and CANCELED or ("network output failed (" .. rc .. ")")) end
  end

  local function fresh(ch, capacity)
    local b = C.flow_task_buffer(task, capacity or 0)
    if b == nil then fail("out of memory allocating a network buffer") end
    bufs[ch], datas[ch], offs[ch] = b, b.data, 0
  end

  local function flush_channel(ch)
    if broken then error(broken, 0) end
    if offs[ch] > 0 then
      hand_over(ch, offs[ch])
      fresh(ch)
    end
  end

  -- writes [timestamp] record at pos; returns the new offset or nil
  local function put(data, pos, cap, v, ts)
    if ts ~= nil then
      if pos + 9 > cap then return nil end
      data[pos] = TAG_TS
      put_time(data + pos + 1, ts)
      pos = pos + 9
    end
    return encode(v, data, pos, cap)
  end

  -- slow path: the record does not fit in what is left of the buffer
  local function overflow(ch, v, ts)
    flush_channel(ch)
    local pos = put(datas[ch], 0, BUFFER_SIZE, v, ts)
    if pos then
      offs[ch] = pos
      return
    end
    -- larger than a segment: it travels alone in an oversize buffer
    local size = codec.size(v) + 9
    local big = C.flow_task_buffer(task, size)
    if big == nil then fail("out of memory allocating a network buffer") end
    C.flow_task_recycle(task, bufs[ch])
    bufs[ch], datas[ch] = big, big.data
    offs[ch] = put(datas[ch], 0, size, v, ts)
    hand_over(ch, offs[ch])
    fresh(ch)
  end

  local flush_each = desc.buffer_timeout_ms == 0 -- flush every record
  -- round robin (rebalance, rescale) over rr_first..rr_last: write(nil, v).
  -- The counter lives in write itself: an upvalue one closure stores to and
  -- another loads from may alias for LuaJIT (their 8-bit hashes collide by
  -- chance), and then every upvalue the writer reads is reloaded per
  -- record: P4 took 45 % more instructions after an unrelated edit shifted
  -- the hashes.
  local rr, rr_first, rr_last = 0, 1, n
  local function write(ch, v)
    if ch == nil then
      rr = rr + 1
      if rr > rr_last then rr = rr_first end
      ch = rr
    end
    if broken then error(broken, 0) end
    counts[ch] = counts[ch] + 1
    local ts = ctx.ts
    local pos = put(datas[ch], offs[ch], BUFFER_SIZE, v, ts)
    if pos then offs[ch] = pos else overflow(ch, v, ts) end
    if flush_each then flush_channel(ch) end
  end

  -- an in-band event (watermark, idleness, barrier) on every channel
  local function event(tag, x)
    for ch = 1, n do
      if broken then error(broken, 0) end
      if offs[ch] + 9 > BUFFER_SIZE then flush_channel(ch) end
      local data, pos = datas[ch], offs[ch]
      data[pos] = tag
      if tag == TAG_WATERMARK or tag == TAG_BARRIER then
        put_time(data + pos + 1, x)
        offs[ch] = pos + 9
      else
        data[pos + 1] = x and 1 or 0
        offs[ch] = pos + 2
      end
      if flush_each then flush_channel(ch) end
    end
  end

  ---@type flow.RecordWriter
  local w = {}
  local drain
  local part = out.partitioner
  local subtask = desc.subtask
  if part == "forward" then
    local ch = (subtask % n) + 1
    w.emit = function(v) return write(ch, v) end
  elseif part == "global" then
    w.emit = function(v) return write(1, v) end
  elseif part == "rebalance" then
    rr = random(n) -- Flink starts at a random channel
    w.emit = function(v) return write(nil, v) end
  elseif part == "shuffle" then
    w.emit = function(v) return write(random(n), v) end
  elseif part == "broadcast" then
    w.emit = function(v)
      for ch = 1, n do write(ch, v) end
    end
  elseif part == "rescale" then
    -- pointwise, as Flink's RescalePartitioner: this subtask feeds a
    -- contiguous range of the downstream subtasks, round-robin
    local p = desc.parallelism
    local first, last
    if n >= p then
      first, last = floor(subtask * n / p) + 1, floor((subtask + 1) * n / p)
    else
      first = floor(subtask * n / p) + 1
      last = first
    end
    rr, rr_first, rr_last = last, first, last
    w.emit = function(v) return write(nil, v) end
  elseif part == "hash" then
    local key_of = keys.selector(key) or function()
      error("a hash edge to '" .. tostring(out.target.name) .. "' has no key", 0)
    end
    local maxp = out.target.max_parallelism
    local function by_key(v) return write(channel_of_key(key_of(v), maxp, n), v) end
    if n == 1 then -- one channel: no hashing (the keyed operator checks the key)
      by_key = function(v) return write(1, v) end
    end
    if comb then
      -- batch mode: one record per distinct key and subtask crosses the
      -- network, written at the end of input
      local collect, drain_to = combiner(comb)
      w.combiner, w.collect = comb, collect
      w.emit = function(v) return collect(nil, v) end
      drain = function() return drain_to(by_key) end
    else
      w.emit = by_key
    end
  else
    error("unknown partitioner " .. tostring(part))
  end

  w.flush = function()
    for ch = 1, n do flush_channel(ch) end
  end
  w.watermark = function(wm) return event(TAG_WATERMARK, wm) end
  --- the operator whose records this writer counts as its numRecordsOut
  w.set_operator_metrics = function(m) om = m end
  -- a checkpoint barrier follows the data before it without delay
  w.barrier = function(id)
    event(TAG_BARRIER, id)
    for ch = 1, n do flush_channel(ch) end
  end
  w.status = function(idle) return event(TAG_STATUS, idle) end
  w.finish = function()
    if drain then drain() end
    for ch = 1, n do
      flush_channel(ch)
      C.flow_task_recycle(task, bufs[ch])
      bufs[ch], datas[ch] = nil, nil
    end
  end
  return w
end

return M
