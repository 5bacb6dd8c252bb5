-- The input processor (flow.runtime.input_processor), loaded directly:
-- the watermark valve, the barrier handler, and the input loop over
-- buffers a fake task hands out (real C buffers of flow_native.so).
local u = require("helpers.unit")
u.native()
local fi = require("flow.ffi")
local codec = require("flow.codec")
local timers = require("flow.runtime.timers")
local input_processor = require("flow.runtime.input_processor")

local C = fi.C

describe("watermark valve", function()
  local function valve(nch)
    local got = { wms = {}, statuses = {} }
    got.valve = input_processor.watermark_valve(nch, function(wm) got.wms[#got.wms + 1] = wm end,
      function(idle) got.statuses[#got.statuses + 1] = idle end)
    return got
  end

  it("passes on the minimum over the channels, when it advances", function()
    local g = valve(3)
    g.valve.watermark(0, 5)
    g.valve.watermark(1, 7)
    assert.are.same({}, g.wms) -- channel 2 has said nothing yet
    g.valve.watermark(2, 3)
    g.valve.watermark(2, 2) -- a channel's watermark never goes back
    g.valve.watermark(2, 6)
    assert.are.same({ 3, 5 }, g.wms)
    assert.are.equal(5, g.valve.current())
  end)

  it("leaves idle channels out, and says when the whole input is idle", function()
    local g = valve(2)
    g.valve.watermark(0, 10)
    g.valve.status(1, true) -- channel 1 idle: channel 0 alone decides
    assert.are.same({ 10 }, g.wms)
    g.valve.status(0, true)
    assert.are.same({ true }, g.statuses)
    g.valve.status(1, false)
    assert.are.same({ true, false }, g.statuses)
    g.valve.watermark(1, 20) -- channel 0 still idle
    assert.are.same({ 10, 20 }, g.wms)
  end)
end)

--- A fake task side for the barrier handler and the input loop.
local function fake_task(buffers)
  local f = { blocked = {}, unblocked = 0, finished = {}, recycled = 0, counted = 0, queue = buffers or {},
    polls = {} }
  function f.flow_task_block_channel(_, ch) f.blocked[#f.blocked + 1] = ch end
  function f.flow_task_unblock_channels() f.unblocked = f.unblocked + 1 end
  function f.flow_task_channel_finished(_, ch) return f.finished[ch] and 1 or 0 end
  function f.flow_task_count(_, n) f.counted = f.counted + n end
  f.flow_task_metrics_watermarks = C.flow_task_metrics_watermarks -- (the real ones: they write the ctx's metrics)
  f.flow_op_metrics_watermarks = C.flow_op_metrics_watermarks
  function f.flow_task_recycle(_, b)
    f.recycled = f.recycled + 1
    C.flow_buffer_free(b)
  end
  function f.flow_task_next(_, timeout, outp)
    f.polls[#f.polls + 1] = timeout
    local nx = table.remove(f.queue, 1)
    if nx == nil then return 0 end -- every channel ended
    if type(nx) == "number" then return nx end
    outp[0] = nx
    return 1
  end
  return f
end

local function checkpointer()
  local cp = { last_id = 0, taken = {}, completions = 0 }
  function cp.trigger(id)
    cp.last_id = id
    cp.taken[#cp.taken + 1] = id
  end
  function cp.poll_complete() cp.completions = cp.completions + 1 end
  return cp
end

describe("barrier handler", function()
  it("aligns exactly once: blocks each channel until all delivered the barrier", function()
    local f, cp = fake_task(), checkpointer()
    local h = input_processor.barrier_handler(u.context { C = f }, 3, cp, true)
    assert.is_true(h.barrier(0, 1))
    assert.is_true(h.barrier(2, 1))
    assert.is_false(h.barrier(2, 1)) -- twice on one channel counts once
    assert.are.same({ 0, 2 }, f.blocked)
    assert.are.same({}, cp.taken)
    assert.is_false(h.barrier(1, 1))
    assert.are.same({ 1 }, cp.taken)
    assert.are.equal(1, f.unblocked)
    assert.are.equal(0, h.aligning)
    assert.is_false(h.barrier(0, 1)) -- an old barrier: ignored
  end)

  it("lets a newer checkpoint supersede one being aligned", function()
    local f, cp = fake_task(), checkpointer()
    local h = input_processor.barrier_handler(u.context { C = f }, 2, cp, true)
    h.barrier(0, 1)
    h.barrier(0, 2)
    assert.are.equal(2, h.aligning)
    assert.are.equal(1, f.unblocked)
    h.barrier(1, 2)
    assert.are.same({ 2 }, cp.taken)
  end)

  it("counts at least once, and finished channels owe no barrier", function()
    local f, cp = fake_task(), checkpointer()
    local h = input_processor.barrier_handler(u.context { C = f }, 2, cp, false)
    assert.is_false(h.barrier(0, 5))
    assert.are.same({}, f.blocked)
    h.check()
    assert.are.same({}, cp.taken)
    f.finished[1] = true
    h.check()
    assert.are.same({ 5 }, cp.taken)
  end)

  it("ends an alignment when only blocked channels are left", function()
    local f, cp = fake_task(), checkpointer()
    local h = input_processor.barrier_handler(u.context { C = f }, 2, cp, true)
    h.blocked() -- nothing aligning: just unblock
    assert.are.equal(1, f.unblocked)
    h.barrier(0, 3)
    h.blocked()
    assert.are.same({ 3 }, cp.taken)
  end)
end)

describe("input loop", function()
  --- a C buffer of channel ch holding the given items: values, or
  --- { ts = t, v = value }, { wm = t }, { barrier = id }, { idle = bool }
  local function buffer(ch, list)
    local b = C.flow_buffer_new(0)
    local p, off = b.data, 0
    for _, it in ipairs(list) do
      if type(it) ~= "table" then
        off = codec.encode(it, p, off, b.capacity)
      elseif it.ts then
        p[off] = fi.TAG_TS
        codec.put_time(p + off + 1, it.ts)
        off = codec.encode(it.v, p, off + 9, b.capacity)
      elseif it.wm or it.barrier then
        p[off] = it.wm and fi.TAG_WATERMARK or fi.TAG_BARRIER
        codec.put_time(p + off + 1, it.wm or it.barrier)
        off = off + 9
      else
        p[off] = fi.TAG_STATUS
        p[off + 1] = it.idle and 1 or 0
        off = off + 2
      end
    end
    b.size = off
    b.channel = ch
    return b
  end

  local function run(nch, queue, opts)
    opts = opts or {}
    local f, cp = fake_task(queue), checkpointer()
    local ctx = u.context { C = f, desc = { input_channels = nch, channel_inputs = opts.inputs or { [0] = 1, 1, 1 },
      exactly_once = opts.exactly_once, buffer_timeout_ms = 100 } }
    local head = u.op({ kind = "map" }, ctx)
    head.on_watermark = function(wm) head.wms[#head.wms + 1] = wm end
    head.on_status = function(idle) head.statuses[#head.statuses + 1] = idle end
    ctx.chain = { head }
    local flushes, flushed = 0, 0
    ctx.maybe_flush = function() flushes = flushes + 1 end
    local second = {}
    local push = function(v) head.emit(v) end
    if opts.two_inputs then push = { push, function(v) second[#second + 1] = v end } end
    input_processor.run(ctx, push, { checkpointer = cp, flush = function() flushed = flushed + 1 end,
      fire_timers = function() end, timers = timers.new() })
    return { ctx = ctx, head = head, f = f, cp = cp, flushes = flushes, flushed = flushed, second = second }
  end

  it("pushes records with their timestamps and passes on the valve's watermark", function()
    local r = run(2, {
      buffer(0, { { ts = 5, v = "a" }, "b", { wm = 5 } }),
      buffer(1, { { ts = 9, v = { "c", 1 } }, { wm = 10 } }),
      buffer(0, { { wm = math.huge } }),
      buffer(1, { { wm = math.huge } }),
    })
    assert.are.same({ { v = "a", ts = 5 }, { v = "b" }, { v = { "c", 1 }, ts = 9 } }, r.head.out)
    assert.are.same({ 5, 10, math.huge }, r.head.wms)
    assert.are.equal(math.huge, r.ctx.metrics.input_watermark) -- currentInputWatermark
    assert.are.equal(3, r.f.counted)
    assert.are.equal(4, r.f.recycled)
    assert.are.equal(4, r.flushes)
  end)

  it("flushes what it holds while nothing arrives", function()
    local r = run(1, { fi.ETIMEDOUT, fi.ETIMEDOUT, buffer(0, { "x" }) })
    assert.are.same({ "x" }, u.values(r.head))
    assert.are.equal(2, r.flushed)
    assert.are.same({ 0, 100, 100, 0 }, r.f.polls) -- waits bounded, to notice checkpoints
  end)

  it("routes a two-input head's channels to its inputs", function()
    local r = run(2, { buffer(0, { "left" }), buffer(1, { "right" }) }, { two_inputs = true, inputs = { [0] = 1, 2 } })
    assert.are.same({ "left" }, u.values(r.head))
    assert.are.same({ "right" }, r.second)
  end)

  it("holds back what follows a barrier until the alignment ends (exactly once)", function()
    local r = run(2, {
      buffer(0, { "a1", { barrier = 1 }, "a2" }),
      buffer(1, { "b1" }),
      buffer(1, { { barrier = 1 }, "b2" }),
    }, { exactly_once = true })
    assert.are.same({ "a1", "b1", "b2", "a2" }, u.values(r.head))
    assert.are.same({ 1 }, r.cp.taken)
    assert.are.same({ 0 }, r.f.blocked)
    assert.are.equal(3, r.f.recycled)
  end)

  it("refuses a corrupt buffer", function()
    local b = C.flow_buffer_new(0)
    b.data[0] = 200
    b.size = 1
    b.channel = 0
    assert.has_error(function() run(1, { b }) end)
    C.flow_buffer_free(b)
  end)
end)
