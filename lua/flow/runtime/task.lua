--- The task loop: runs on a task thread, in that task's own Lua state.
---
--- C calls `run_task` once per subtask attempt (src/runtime/task.c). From
--- then on Lua drives: it pulls whole input buffers from C through the FFI,
--- decodes their records in a Lua loop, pushes each through the fused chain
--- of operators (plain Lua closures calling each other, so LuaJIT traces the
--- chain as one loop), and encodes output records straight into 32 KiB
--- network buffers, handing each full buffer back to C. C is entered once per
--- buffer, never per record.
local ffi = require("ffi")
local codec = require("flow.codec")
local ship = require("flow.ship")
local ops = require("flow.runtime.operators")
local checkpoint = require("flow.runtime.checkpoint")
local timers = require("flow.runtime.timers")
local sbuf = require("string.buffer")

ffi.cdef [[
typedef struct flow_buffer {
  struct flow_buffer *next;
  struct flow_buffer *prev;
  uint8_t *data;
  uint32_t size;
  uint32_t capacity;
  uint32_t kind;
  int32_t channel;
} flow_buffer_t;
typedef struct flow_task flow_task_t;
int flow_task_next(flow_task_t *t, int64_t timeout_ms, flow_buffer_t **out);
void flow_task_recycle(flow_task_t *t, flow_buffer_t *b);
flow_buffer_t *flow_task_buffer(flow_task_t *t, uint32_t capacity);
int flow_task_emit(flow_task_t *t, int output, int channel, flow_buffer_t *b);
int64_t flow_task_collect(flow_task_t *t, flow_buffer_t *b, int64_t records);
void flow_task_cancel_job(flow_task_t *t);
void flow_task_running(flow_task_t *t);
int flow_task_canceled(flow_task_t *t);
uint32_t flow_hash_bytes(const void *p, size_t n);
uint32_t flow_hash_number(double d);
int64_t flow_now_ms(void);
int64_t flow_mono_ms(void);
void flow_sleep_ms(int64_t ms);
int64_t flow_task_checkpoint_request(flow_task_t *t);
int64_t flow_task_checkpoint_complete(flow_task_t *t);
void flow_task_ack_checkpoint(flow_task_t *t, int64_t id, const char *path);
int flow_task_checkpoint_dir(flow_task_t *t, int64_t id, char *buf, size_t cap);
int64_t flow_task_next_split(flow_task_t *t);
void flow_task_block_channel(flow_task_t *t, int channel);
void flow_task_unblock_channels(flow_task_t *t);
int flow_task_channel_finished(flow_task_t *t, int channel);
void flow_task_count(flow_task_t *t, int64_t in, int64_t out);
void flow_task_input_progress(flow_task_t *t, int64_t read, int64_t total);
]]

local C = ffi.C
local encode, decode, encode_string = codec.encode, codec.decode, codec.encode_string
local floor, random = math.floor, math.random

local BUFFER_SIZE = 32 * 1024
local E_CANCELED, E_TIMEDOUT = -6, -9

-- In-band events in data buffers (docs/record_format.md): a record's event
-- timestamp precedes it; watermarks and idleness travel between records.
local TAG_TS, TAG_WATERMARK, TAG_STATUS, TAG_BARRIER = 10, 11, 12, 13
local i64p = ffi.typeof("int64_t *")
local I64_MAX, I64_MIN = 0x7fffffffffffffffLL, -0x7fffffffffffffffLL - 1
--- Watermarks and timestamps are numbers in Lua; the end of time is
--- math.huge there and the largest int64 on the wire.
local function put_i64(p, x)
  if x == math.huge then ffi.cast(i64p, p)[0] = I64_MAX
  elseif x == -math.huge then ffi.cast(i64p, p)[0] = I64_MIN
  else ffi.cast(i64p, p)[0] = x end
end
local function get_i64(p)
  local x = ffi.cast(i64p, p)[0]
  if x == I64_MAX then return math.huge end
  if x == I64_MIN then return -math.huge end
  return tonumber(x)
end

local M = {}

--- Raised when C reports the job canceled us; the task then ends CANCELED.
local CANCELED = setmetatable({}, { __tostring = function() return "task canceled" end, __flow_sentinel = true })
M.CANCELED = CANCELED

---@param key any
---@return integer hash (32-bit, non-negative)
local function hash_key(key)
  local t = type(key)
  if t == "string" then return C.flow_hash_bytes(key, #key) end
  if t == "number" then return C.flow_hash_number(key) end
  if t == "boolean" then return key and 1231 or 1237 end
  local s = encode_string(key)
  return C.flow_hash_bytes(s, #s)
end
M.hash_key = hash_key

--- Flink's KeyGroupRangeAssignment: key group, then the operator index owning it.
function M.key_group(key, max_parallelism)
  return hash_key(key) % max_parallelism
end

--- A writer for one network output: one open buffer per channel.
---@return table writer { emit = fn(v), flush = fn(), finish = fn() }
local function new_writer(task, k, out, desc, combiner_target, ctx)
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

  local function hand_over(ch, size)
    local b = bufs[ch]
    b.size = size
    C.flow_task_count(task, 0, counts[ch])
    counts[ch] = 0
    bufs[ch] = nil
    local rc = C.flow_task_emit(task, cidx, ch - 1, b) -- C owns b from here, even on failure
    if rc < 0 then fail(rc == E_CANCELED and CANCELED or ("network output failed (" .. rc .. ")")) end
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
      put_i64(data + pos + 1, ts)
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
  local function write(ch, v)
    if broken then error(broken, 0) end
    counts[ch] = counts[ch] + 1
    local ts = ctx.ts
    local pos = put(datas[ch], offs[ch], BUFFER_SIZE, v, ts)
    if pos then offs[ch] = pos else overflow(ch, v, ts) end
    if flush_each then flush_channel(ch) end
  end

  -- an in-band event (watermark, idleness) on every channel
  local function event(tag, x)
    for ch = 1, n do
      if broken then error(broken, 0) end
      if offs[ch] + 9 > BUFFER_SIZE then flush_channel(ch) end
      local data, pos = datas[ch], offs[ch]
      data[pos] = tag
      if tag == TAG_WATERMARK or tag == TAG_BARRIER then
        put_i64(data + pos + 1, x)
        offs[ch] = pos + 9
      else
        data[pos + 1] = x and 1 or 0
        offs[ch] = pos + 2
      end
      if flush_each then flush_channel(ch) end
    end
  end

  local w = {}
  local part = out.partitioner
  local subtask = desc.subtask
  if part == "forward" then
    local ch = (subtask % n) + 1
    w.emit = function(v) return write(ch, v) end
  elseif part == "global" then
    w.emit = function(v) return write(1, v) end
  elseif part == "rebalance" then
    local ch = random(n) -- Flink starts at a random channel
    w.emit = function(v)
      ch = ch + 1
      if ch > n then ch = 1 end
      return write(ch, v)
    end
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
    local ch = last
    w.emit = function(v)
      ch = ch + 1
      if ch > last then ch = first end
      return write(ch, v)
    end
  elseif part == "hash" then
    local target = out.target
    local key_of = combiner_target.key_of
    local maxp = target.max_parallelism
    local function channel_of(key)
      return floor((hash_key(key) % maxp) * n / maxp) + 1
    end
    if combiner_target.combine then
      -- batch mode: pre-aggregate per key before the shuffle (a combiner),
      -- so one record per distinct key and subtask crosses the network
      local combine = combiner_target.combine
      local acc, keys = {}, {}
      local function generic(v)
        local key = key_of(v)
        local sk = type(key) == "table" and encode_string(key) or key
        local a = acc[sk]
        if a == nil then
          acc[sk] = combine(nil, v)
          keys[sk] = key
        else
          acc[sk] = combine(a, v)
        end
      end
      w.emit = generic
      local kf, sf = combiner_target.key_field, combiner_target.sum_field
      if kf then
        -- sum of field sf keyed by field kf: no calls per record (same result)
        w.emit = function(v)
          if type(v) ~= "table" then return generic(v) end
          local key = v[kf]
          local a = acc[key]
          if a ~= nil then
            a[sf] = a[sf] + v[sf]
          elseif key == nil or type(key) == "table" then
            return generic(v)
          else
            acc[key] = combine(nil, v)
            keys[key] = key
          end
        end
        -- the same as out:collect's method (self, v), one call less for a
        -- flat_map feeding the shuffle directly
        ops.collect_methods[w.emit] = function(_, v)
          if type(v) ~= "table" then return generic(v) end
          local key = v[kf]
          local a = acc[key]
          if a ~= nil then
            a[sf] = a[sf] + v[sf]
          elseif key == nil or type(key) == "table" then
            return generic(v)
          else
            acc[key] = combine(nil, v)
            keys[key] = key
          end
        end
      end
      w.drain = function()
        for sk, a in pairs(acc) do write(channel_of(keys[sk]), a) end
        acc, keys = {}, {}
      end
    else
      w.emit = function(v) return write(channel_of(key_of(v)), v) end
    end
  else
    error("unknown partitioner " .. tostring(part))
  end

  w.flush = function()
    for ch = 1, n do flush_channel(ch) end
  end
  w.watermark = function(wm) return event(TAG_WATERMARK, wm) end
  -- a checkpoint barrier follows the data before it without delay
  w.barrier = function(id)
    event(TAG_BARRIER, id)
    for ch = 1, n do flush_channel(ch) end
  end
  w.status = function(idle) return event(TAG_STATUS, idle) end
  w.finish = function()
    if w.drain then w.drain() end
    for ch = 1, n do
      flush_channel(ch)
      C.flow_task_recycle(task, bufs[ch])
      bufs[ch], datas[ch] = nil, nil
    end
  end
  return w
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
      if fault.kill then
        pcall(ffi.cdef, "int kill(int pid, int sig); int getpid(void);")
        C.kill(C.getpid(), 9)
      end
      error("injected failure after " .. fault.after .. " records (FLOWLUA_FAULT)", 0)
    end
    return f(v)
  end
end

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

--- Runs one subtask. `tp` is the C flow_task_t*, `desc` the descriptor built
--- in src/runtime/task.c.
function M.run_task(tp, desc)
  local task = ffi.cast("flow_task_t *", tp)
  local chain = desc.ops
  for i = 1, #chain do
    chain[i].spec = M.decode_payload(chain[i].payload, desc.blob_dir)
  end
  math.randomseed(desc.subtask * 7919 + desc.vertex)

  local ctx = {
    task = task,
    desc = desc,
    subtask = desc.subtask,
    parallelism = desc.parallelism,
    mode = desc.mode,
    C = C,
    CANCELED = CANCELED,
    flushers = {}, -- called when the task is about to wait, and at the end
    accumulators = {}, -- name -> number, summed over subtasks by the client
  }
  --- ctx:counter(name):add(n): an accumulator of this job (Flink's IntCounter)
  function ctx:counter(name)
    local acc = self.accumulators
    if acc[name] == nil then acc[name] = 0 end
    return { add = function(_, n) acc[name] = acc[name] + (n or 1) end,
      get = function() return acc[name] end }
  end
  function ctx:subtask_index() return self.subtask end
  function ctx:get_parallelism() return self.parallelism end
  ctx.processing_timers = timers.new()
  require("flow.context").current = ctx

  -- network outputs
  local writers = {}
  for k, out in ipairs(desc.outputs) do
    local tspec = M.decode_payload(out.target.payload, desc.blob_dir)
    local ct = ops.partition_spec(tspec, desc.mode, out.type_number)
    writers[k] = new_writer(task, k, out, desc, ct, ctx)
    writers[k].target_spec = tspec
  end
  ctx.writers, ctx.chain = writers, chain

  -- build the fused chain from its tail to its head; an operator's outputs
  -- are its main output and, per output tag, its side outputs
  local push = {}
  local fault = fault_spec(desc)
  for i = #chain, 1, -1 do
    local op = chain[i]
    local tags = op.spec.out_tags or {}
    local main, side, wms, sts = {}, {}, {}, {}
    for _, o in ipairs(op.outputs) do
      local target
      if o.op then
        target = push[o.op]
        if type(target) == "table" then error("a two-input operator cannot be chained") end
        local next_op = chain[o.op]
        wms[#wms + 1] = function(wm) return next_op.on_watermark(wm) end
        sts[#sts + 1] = function(idle) return next_op.on_status(idle) end
      elseif o.net then
        target = writers[o.net].emit
        wms[#wms + 1] = writers[o.net].watermark
        sts[#sts + 1] = writers[o.net].status
      end
      local tag = tags[o.target]
      if tag then
        side[tag] = side[tag] or {}
        table.insert(side[tag], target)
      else
        main[#main + 1] = target
      end
    end
    op.emit = fan_out(main)
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
    push[i] = ops.build(op, ctx)
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

  local function flush_all()
    for i = 1, #ctx.flushers do ctx.flushers[i]() end
    for k = 1, #writers do writers[k].flush() end
  end

  -- restore from a checkpoint or savepoint: each operator gets the states
  -- saved under its uid (keyed state is split by key group when rescaled)
  if desc.restore_dir then
    local meta = checkpoint.read_metadata(desc.restore_dir)
    local cache = {}
    for i = 1, #chain do
      local op = chain[i]
      if meta.finished[op.uid .. "#" .. desc.subtask] == desc.parallelism then
        op.finished_on_restore = true -- a source that had ended does not start again
      end
      local states, rescaled = checkpoint.states_for(meta, op.uid, desc.subtask, desc.parallelism, cache)
      if states then
        if not op.restore then
          error("checkpoint " .. meta.dir .. " has state for '" .. op.name .. "' (" .. op.uid ..
            "), which does not keep state", 0)
        end
        op.restore(states, rescaled)
      end
    end
    ctx.restored_from = meta.dir
  end

  -- checkpoints: snapshot every operator of the chain, write the task's
  -- state file, send the barrier on, acknowledge
  local dirbuf = ffi.new("char[4096]")
  local last_cp, last_complete = 0, 0
  local function do_checkpoint(id)
    last_cp = id
    -- what operators hold back (a C operator's input batch, sink buffers)
    -- belongs before the barrier
    for i = 1, #ctx.flushers do ctx.flushers[i]() end
    local dir
    -- the barrier may come (from another taskmanager) before the
    -- coordinator's word on where checkpoint id goes: wait for it a little
    local waited = 0
    while C.flow_task_checkpoint_dir(task, id, dirbuf, 4096) ~= 1 and waited < 5000
        and C.flow_task_canceled(task) == 0 do
      C.flow_sleep_ms(1)
      waited = waited + 1
    end
    if C.flow_task_checkpoint_dir(task, id, dirbuf, 4096) == 1 then dir = ffi.string(dirbuf)
    elseif desc.checkpoint_dir then dir = desc.checkpoint_dir .. "/chk-" .. id
    else error("no directory for checkpoint " .. id .. " arrived from the coordinator", 0) end
    local states = {}
    for i = 1, #chain do
      local op = chain[i]
      if op.snapshot then states[op.uid] = op.snapshot(id) end
    end
    local ok, path = pcall(checkpoint.write_state, dir, desc.vertex, desc.subtask, desc.parallelism, id, states)
    for k = 1, #writers do writers[k].barrier(id) end
    -- nil declines; so do tasks whose sources take splits on request: no
    -- position of theirs says what was read
    C.flow_task_ack_checkpoint(task, id, ok and not desc.lazy_splits and path or nil)
  end
  local function check_checkpoints()
    local c = tonumber(C.flow_task_checkpoint_complete(task))
    if c > last_complete then
      last_complete = c
      for i = 1, #chain do
        local f = chain[i].notify_complete
        if f then f(c) end
      end
    end
  end
  -- a source polls the coordinator's trigger (the position is where it
  -- would resume: the source passes it to maybe_flush)
  local source_request = function(pos)
    local r = tonumber(C.flow_task_checkpoint_request(task))
    if r > last_cp then
      ctx.source_position = pos
      do_checkpoint(r)
    end
  end

  -- Flink's buffer timeout: output waits at most `timeout` ms in a
  -- partly filled buffer (0: flushed per record by the writer; -1: only
  -- full buffers leave)
  local timeout = desc.buffer_timeout_ms
  local last_flush = tonumber(C.flow_mono_ms())
  local function check_canceled()
    if C.flow_task_canceled(task) ~= 0 then error(CANCELED, 0) end
  end

  -- the processing-time service: timers fire between records, on this thread
  local ptimers = ctx.processing_timers
  local function on_processing_timer(owner, key, ts, ns, d1, d2) owner:on_processing_timer(key, ts, ns, d1, d2) end
  local function fire_processing_timers()
    if ptimers.n > 0 then ptimers:advance(tonumber(C.flow_now_ms()), on_processing_timer) end
  end

  local is_source = chain[1].spec.source
  ctx.maybe_flush = function(pos, emitted)
    if emitted then C.flow_task_count(task, emitted, 0) end
    check_canceled()
    fire_processing_timers()
    if is_source then source_request(pos) end
    check_checkpoints()
    if timeout > 0 then
      local now = tonumber(C.flow_mono_ms())
      if now - last_flush >= timeout then
        flush_all()
        last_flush = now
      end
    end
  end

  C.flow_task_running(task)
  local head = chain[1]
  if head.spec.source then
    ops.run_source(head, ctx, push[1])
    check_canceled()
    ctx.ts = nil
    head.on_watermark(math.huge) -- a source that ends says: no more event time
  else
    -- a two-input operator gets { push1, push2 }; buffers say their channel
    local head_push = push[1]
    local push1, push2 = head_push, head_push
    if type(head_push) == "table" then push1, push2 = head_push[1], head_push[2] end
    local inputs = desc.channel_inputs
    -- watermarks: per input channel, the operator's is the minimum over the
    -- channels that are not idle (Flink's StatusWatermarkValve)
    local nch = desc.input_channels
    local ch_wm, ch_idle = {}, {}
    for c = 0, nch - 1 do ch_wm[c], ch_idle[c] = -math.huge, false end
    local gate_wm, all_idle = -math.huge, false
    local function advance()
      local m, any = math.huge, false
      for c = 0, nch - 1 do
        if not ch_idle[c] then
          any = true
          if ch_wm[c] < m then m = ch_wm[c] end
        end
      end
      if not any then
        if not all_idle then
          all_idle = true
          head.on_status(true)
        end
        return
      end
      if all_idle then
        all_idle = false
        head.on_status(false)
      end
      if m > gate_wm then
        gate_wm = m
        ctx.ts = nil
        head.on_watermark(m)
      end
    end
    -- checkpoint barriers: exactly once aligns the channels (a channel
    -- whose barrier came is blocked, and what follows the barrier in its
    -- buffer waits) until every open channel delivered it; at least once
    -- just counts them
    local exactly_once = desc.exactly_once
    local aligning, arrived, n_arrived = 0, {}, 0
    local stash = {} -- { b, off } waiting for the alignment to end
    local function aligned()
      if n_arrived == nch then return true end
      for c = 0, nch - 1 do
        if not arrived[c] and C.flow_task_channel_finished(task, c) == 0 then return false end
      end
      return true
    end
    local function end_alignment()
      local id = aligning
      aligning, arrived, n_arrived = 0, {}, 0
      do_checkpoint(id)
      if exactly_once then C.flow_task_unblock_channels(task) end
    end

    -- processes buffer b from offset off; returns false when the rest of
    -- it must wait for an alignment
    -- a text sink at the head formats whole runs of records in C
    local text_raw = head.text_raw
    local function process(b, off)
      local p, n = b.data, b.size
      local channel = b.channel
      local f = inputs[channel] == 2 and push2 or push1
      local v
      local records = 0
      while off < n do
        if text_raw then
          local used, nrec = text_raw(p + off, n - off)
          off = off + used
          records = records + nrec
          if off >= n then break end
        end
        local tag = p[off]
        if tag < TAG_TS then
          ctx.ts = nil
          v, off = decode(p, off)
          records = records + 1
          f(v)
        elseif tag == TAG_TS then
          ctx.ts = get_i64(p + off + 1)
          v, off = decode(p, off + 9)
          records = records + 1
          f(v)
        elseif tag == TAG_WATERMARK then
          local wm = get_i64(p + off + 1)
          off = off + 9
          if wm > ch_wm[channel] then ch_wm[channel] = wm end
          advance()
        elseif tag == TAG_STATUS then
          ch_idle[channel] = p[off + 1] == 1
          off = off + 2
          advance()
        elseif tag == TAG_BARRIER then
          local id = get_i64(p + off + 1)
          off = off + 9
          if id > aligning and id > last_cp then
            if aligning ~= 0 and exactly_once then C.flow_task_unblock_channels(task) end
            aligning, arrived, n_arrived = id, {}, 0 -- a newer checkpoint supersedes
          end
          if id == aligning and not arrived[channel] then
            arrived[channel] = true
            n_arrived = n_arrived + 1
            if aligned() then
              end_alignment()
            elseif exactly_once then
              C.flow_task_block_channel(task, channel)
              if off < n then
                stash[#stash + 1] = { b, off }
                C.flow_task_count(task, records, 0)
                return false
              end
            end
          end
        else
          error("corrupt input buffer: tag " .. tag .. " at " .. off)
        end
      end
      C.flow_task_count(task, records, 0)
      return true
    end

    local outp = ffi.new("flow_buffer_t *[1]")
    while true do
      -- what waited for an alignment that has ended goes first
      if aligning == 0 and #stash > 0 then
        local s1 = table.remove(stash, 1)
        if process(s1[1], s1[2]) then C.flow_task_recycle(task, s1[1]) end
        goto continue
      end
      do
        local rc = C.flow_task_next(task, 0, outp)
        while rc == E_TIMEDOUT do
          -- nothing to read: what we hold must not wait for more input, and
          -- the wait ends when the next processing-time timer is due
          if timeout >= 0 then flush_all() end
          local wait = -1
          local nt = ptimers:next_time()
          if nt then wait = math.max(0, nt - tonumber(C.flow_now_ms())) end
          if wait < 0 or wait > 100 then wait = 100 end -- also notice checkpoint completions
          rc = C.flow_task_next(task, wait, outp)
          if rc == E_TIMEDOUT then
            fire_processing_timers()
            check_checkpoints()
            if aligning ~= 0 and not exactly_once and aligned() then end_alignment() end
          end
        end
        if rc == -10 then -- only blocked channels are open: the others finished
          if aligning ~= 0 then end_alignment() else C.flow_task_unblock_channels(task) end
          goto continue
        end
        if rc == 0 then break end
        if rc < 0 then error(CANCELED, 0) end
        local b = outp[0]
        if process(b, 0) then C.flow_task_recycle(task, b) end
        -- at least once: a channel that finished meanwhile owes no barrier
        if aligning ~= 0 and not exactly_once and aligned() then end_alignment() end
        ctx.maybe_flush()
      end
      ::continue::
    end
    if aligning ~= 0 then end_alignment() end -- the last channels ended
  end
  check_canceled() -- a canceled task never ends as FINISHED

  -- end of input: operators finish in chain order (a batch reduce emits here)
  for i = 1, #chain do
    local fin = chain[i].finish
    if fin then fin() end
  end
  for i = 1, #ctx.flushers do ctx.flushers[i]() end
  for k = 1, #writers do writers[k].finish() end
  if next(ctx.accumulators) then return sbuf.encode(ctx.accumulators) end
  return nil
end

return M
