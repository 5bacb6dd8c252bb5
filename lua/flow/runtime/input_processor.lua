--- The input side of a task whose chain does not start with a source
--- (Flink's StreamInputProcessor): pulls whole buffers from C
--- (flow_task_next), decodes their records in a Lua loop and pushes each
--- into the head of the chain; in-band events go to the watermark valve
--- (Flink's StatusWatermarkValve) and the barrier handler (Flink's
--- CheckpointBarrierHandler: aligned for exactly once, counting for at
--- least once). C is called once per buffer, never per record.
local ffi = require("ffi")
local fi = require("flow.ffi")
local codec = require("flow.codec")

local decode, get_time = codec.decode, codec.get_time
local TAG_TS, TAG_WATERMARK, TAG_STATUS, TAG_BARRIER = fi.TAG_TS, fi.TAG_WATERMARK, fi.TAG_STATUS, fi.TAG_BARRIER
local ETIMEDOUT, EBLOCKED = fi.ETIMEDOUT, fi.EBLOCKED
local now_ms = fi.now_ms

local M = {}
local NAN = 0 / 0 -- (a watermark the metrics leave as it is)

---@class flow.WatermarkValve
---@field watermark fun(channel:integer, wm:number) a watermark arrived on channel
---@field status fun(channel:integer, idle:boolean) channel went idle / active
---@field current fun():number the watermark passed on so far

--- The watermark of an operator is the minimum over its input channels
--- that are not idle; when every channel is idle the operator is idle.
--- Calls on_watermark(wm) when that minimum advances and on_status(idle)
--- when the whole input turns idle or active.
---@param nch integer input channels, numbered 0..nch-1
---@param on_watermark fun(wm:number)
---@param on_status fun(idle:boolean)
---@return flow.WatermarkValve
function M.watermark_valve(nch, on_watermark, on_status)
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
        on_status(true)
      end
      return
    end
    if all_idle then
      all_idle = false
      on_status(false)
    end
    if m > gate_wm then
      gate_wm = m
      on_watermark(m)
    end
  end
  return {
    watermark = function(channel, wm)
      if wm > ch_wm[channel] then ch_wm[channel] = wm end
      return advance()
    end,
    status = function(channel, idle)
      ch_idle[channel] = idle
      return advance()
    end,
    current = function() return gate_wm end,
  }
end

---@class flow.BarrierHandler
---@field aligning number the checkpoint being aligned (0: none)
---@field barrier fun(channel:integer, id:number):boolean a barrier arrived; true when the channel is now blocked
---@field check fun() at least once: ends an alignment whose missing channels finished
---@field blocked fun() only blocked channels are left open
---@field finish fun() the input ended

--- Checkpoint barriers: exactly once aligns the channels (a channel whose
--- barrier came is blocked, and what follows the barrier in its buffer
--- waits) until every open channel delivered it; at least once just counts
--- them. The checkpoint is taken when the alignment ends.
---@param ctx flow.TaskContext uses ctx.C, ctx.task
---@param nch integer input channels
---@param cp flow.SubtaskCheckpointer
---@param exactly_once boolean
---@return flow.BarrierHandler
function M.barrier_handler(ctx, nch, cp, exactly_once)
  local C, task = ctx.C, ctx.task
  local h = { aligning = 0 }
  local arrived, n_arrived = {}, 0
  local function aligned()
    if n_arrived == nch then return true end
    for c = 0, nch - 1 do
      if not arrived[c] and C.flow_task_channel_finished(task, c) == 0 then return false end
    end
    return true
  end
  local function end_alignment()
    local id = h.aligning
    h.aligning, arrived, n_arrived = 0, {}, 0
    cp.trigger(id)
    if exactly_once then C.flow_task_unblock_channels(task) end
  end
  function h.barrier(channel, id)
    if id > h.aligning and id > cp.last_id then
      if h.aligning ~= 0 and exactly_once then C.flow_task_unblock_channels(task) end
      h.aligning, arrived, n_arrived = id, {}, 0 -- a newer checkpoint supersedes
    end
    if id == h.aligning and not arrived[channel] then
      arrived[channel] = true
      n_arrived = n_arrived + 1
      if aligned() then
        end_alignment()
      elseif exactly_once then
        C.flow_task_block_channel(task, channel)
        return true
      end
    end
    return false
  end
  function h.check()
    if h.aligning ~= 0 and not exactly_once and aligned() then end_alignment() end
  end
  function h.blocked()
    if h.aligning ~= 0 then end_alignment() else C.flow_task_unblock_channels(task) end
  end
  function h.finish()
    if h.aligning ~= 0 then end_alignment() end -- the last channels ended
  end
  return h
end

---@class flow.InputHooks what the input loop needs from its task
---@field checkpointer flow.SubtaskCheckpointer
---@field flush fun() flushes what operators and writers hold
---@field fire_timers fun() fires due processing-time timers
---@field timers flow.TimerService the processing-time service (its next timer bounds a wait)

--- Runs the input loop until every input channel ended (or the task is
--- canceled): push is the head's push function, or { push1, push2 } for a
--- two-input head (a buffer's channel says which input it belongs to).
---@param ctx flow.TaskContext
---@param push (fun(v:any))|(fun(v:any))[]
---@param hooks flow.InputHooks
function M.run(ctx, push, hooks)
  local C, task, desc = ctx.C, ctx.task, ctx.desc
  local head = ctx.chain[1]
  local push1, push2 = push, push
  if type(push) == "table" then push1, push2 = push[1], push[2] end
  local inputs = desc.channel_inputs
  local nch = desc.input_channels
  local cp = hooks.checkpointer
  local flush_all, fire_timers, ptimers = hooks.flush, hooks.fire_timers, hooks.timers
  local timeout = desc.buffer_timeout_ms
  local CANCELED = ctx.CANCELED

  local metrics, head_metrics = ctx.metrics, head.metrics
  local flush_counts = ctx.flush_counts
  local valve = M.watermark_valve(nch, function(wm)
    ctx.ts = nil
    C.flow_task_metrics_watermarks(metrics, wm, NAN)
    if head_metrics then C.flow_op_metrics_watermarks(head_metrics, wm, NAN) end
    head.on_watermark(wm)
  end, function(idle) head.on_status(idle) end)
  local barriers = M.barrier_handler(ctx, nch, cp, desc.exactly_once)
  local stash = {} -- { b, off } waiting for the alignment to end

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
        ctx.ts = get_time(p + off + 1)
        v, off = decode(p, off + 9)
        records = records + 1
        f(v)
      elseif tag == TAG_WATERMARK then
        local wm = get_time(p + off + 1)
        off = off + 9
        valve.watermark(channel, wm)
      elseif tag == TAG_STATUS then
        local idle = p[off + 1] == 1
        off = off + 2
        valve.status(channel, idle)
      elseif tag == TAG_BARRIER then
        local id = get_time(p + off + 1)
        off = off + 9
        if barriers.barrier(channel, id) and off < n then
          stash[#stash + 1] = { b, off }
          C.flow_task_count(task, records, 0)
          flush_counts()
          return false
        end
      else
        error("corrupt input buffer: tag " .. tag .. " at " .. off)
      end
    end
    C.flow_task_count(task, records, 0)
    flush_counts()
    return true
  end

  local outp = ffi.new("flow_buffer_t *[1]")
  while true do
    -- what waited for an alignment that has ended goes first
    if barriers.aligning == 0 and #stash > 0 then
      local s1 = table.remove(stash, 1)
      if process(s1[1], s1[2]) then C.flow_task_recycle(task, s1[1]) end
      goto continue
    end
    do
      local rc = C.flow_task_next(task, 0, outp)
      while rc == ETIMEDOUT do
        -- nothing to read: what we hold must not wait for more input, and
        -- the wait ends when the next processing-time timer is due
        if timeout >= 0 then flush_all() end
        local wait = -1
        local nt = ptimers:next_time()
        if nt then wait = math.max(0, nt - now_ms()) end
        if wait < 0 or wait > 100 then wait = 100 end -- also notice checkpoint completions
        rc = C.flow_task_next(task, wait, outp)
        if rc == ETIMEDOUT then
          fire_timers()
          flush_counts()
          cp.poll_complete()
          barriers.check()
        end
      end
      if rc == EBLOCKED then -- only blocked channels are open: the others finished
        barriers.blocked()
        goto continue
      end
      if rc == 0 then break end
      if rc < 0 then error(CANCELED, 0) end
      local b = outp[0]
      if process(b, 0) then C.flow_task_recycle(task, b) end
      -- at least once: a channel that finished meanwhile owes no barrier
      barriers.check()
      ctx.maybe_flush()
    end
    ::continue::
  end
  barriers.finish()
end

return M
