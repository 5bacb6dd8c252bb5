-- The window operator (flow.runtime.window_operator), loaded directly:
-- records and watermarks go in through its push and on_watermark with a
-- fake context; what it emits is captured.
local u = require("helpers.unit")
u.native() -- key groups hash keys in C
local window_operator = require("flow.runtime.window_operator")

local function tumbling(size) return { type = "tumbling", time = "event", size = size, offset = 0 } end

--- A window operator with its context; feed(v, ts) pushes one record.
local function build(spec)
  spec.kind = "window"
  local ctx = u.context()
  local op = u.op(spec, ctx, { side = spec.side or {} })
  local push = window_operator.window(op, ctx)
  local w = { op = op, ctx = ctx }
  function w.feed(v, ts)
    ctx.ts = ts
    push(v)
  end
  function w.watermark(wm)
    ctx.ts = nil
    op.on_watermark(wm)
  end
  return w
end

local function sorted(t)
  table.sort(t, function(a, b) return tostring(a[1]) .. "\0" .. tostring(a[2]) < tostring(b[1]) .. "\0" .. tostring(b[2]) end)
  return t
end

describe("window operator", function()
  it("fires tumbling event-time windows when the watermark passes their end", function()
    local w = build { key = { field = 1 }, assigner = tumbling(10), fn = { kind = "reduce", agg = "sum", field = 2 } }
    w.feed({ "a", 1 }, 1)
    w.feed({ "b", 5 }, 3)
    w.feed({ "a", 2 }, 9)
    w.feed({ "a", 4 }, 12)
    assert.are.same({}, w.op.out)
    w.watermark(8) -- window [0, 10) has max timestamp 9: not yet
    assert.are.same({}, w.op.out)
    w.watermark(9)
    assert.are.same({ { "a", 3 }, { "b", 5 } }, sorted(u.values(w.op)))
    for _, e in ipairs(w.op.out) do assert.are.equal(9, e.ts) end -- results carry the window's max timestamp
    w.watermark(math.huge)
    assert.are.same({ "a", 4 }, w.op.out[3].v)
    assert.are.equal(19, w.op.out[3].ts)
    assert.are.same({ 8, 9, math.huge }, w.op.wms) -- watermarks pass on
  end)

  it("assigns a record to every sliding window it falls in", function()
    local w = build { key = { field = 1 }, assigner = { type = "sliding", time = "event", size = 10, slide = 5, offset = 0 },
      fn = { kind = "reduce", agg = "sum", field = 2 } }
    w.feed({ "a", 1 }, 7) -- windows [0, 10) and [5, 15)
    w.feed({ "a", 10 }, 12) -- [5, 15) and [10, 20)
    w.watermark(math.huge)
    local got = {}
    for _, e in ipairs(w.op.out) do got[#got + 1] = { e.ts, e.v[2] } end
    table.sort(got, function(a, b) return a[1] < b[1] end)
    assert.are.same({ { 9, 1 }, { 14, 11 }, { 19, 10 } }, got)
  end)

  it("drops late records, counts them, or sends them to the late side output", function()
    local w = build { key = { field = 1 }, assigner = tumbling(10), fn = { kind = "reduce", agg = "sum", field = 2 } }
    w.feed({ "a", 1 }, 1)
    w.watermark(20)
    assert.are.equal(1, #w.op.out)
    w.feed({ "a", 100 }, 5) -- its window ended and lateness is 0
    assert.are.equal(1, #w.op.out)
    assert.are.equal(1, w.ctx.accumulators.num_late_records_dropped)

    local late = {}
    w = build { key = { field = 1 }, assigner = tumbling(10), fn = { kind = "reduce", agg = "sum", field = 2 },
      late_tag = "late", side = { late = function(v) late[#late + 1] = v end } }
    w.watermark(20)
    w.feed({ "b", 7 }, 3)
    assert.are.same({ { "b", 7 } }, late)
    assert.are.same({}, w.op.out)
  end)

  it("fires again for records within the allowed lateness, and cleans up after it", function()
    local w = build { key = { field = 1 }, assigner = tumbling(10), lateness = 5,
      fn = { kind = "reduce", agg = "sum", field = 2 } }
    w.feed({ "a", 1 }, 2)
    w.watermark(9)
    assert.are.same({ { "a", 1 } }, u.values(w.op))
    w.feed({ "a", 2 }, 4) -- late, but within lateness: the window fires again, updated
    assert.are.same({ "a", 3 }, w.op.out[2].v)
    w.watermark(14) -- cleanup time: max timestamp 9 + lateness 5
    w.feed({ "a", 4 }, 4) -- now too late
    assert.are.equal(2, #w.op.out)
    assert.are.equal(1, w.ctx.accumulators.num_late_records_dropped)
    assert.are.equal(0, w.op.backend:count("window-contents"))
  end)

  it("merges session windows", function()
    local w = build { key = { field = 1 }, assigner = { type = "session", time = "event", gap = 5 },
      fn = { kind = "reduce", agg = "sum", field = 2 } }
    w.feed({ "a", 1 }, 0)
    w.feed({ "a", 2 }, 8) -- a gap of 8 >= 5: a session of its own
    w.feed({ "a", 4 }, 4) -- bridges both: [0, 13)
    w.feed({ "b", 8 }, 20)
    w.watermark(math.huge)
    local got = {}
    for _, e in ipairs(w.op.out) do got[#got + 1] = { e.v[1], e.v[2], e.ts } end
    table.sort(got, function(a, b) return a[1] < b[1] end)
    assert.are.same({ { "a", 7, 12 }, { "b", 8, 24 } }, got)
  end)

  it("runs process window functions with the key and the window", function()
    local w = build { key = { field = 1 }, assigner = tumbling(10),
      fn = { kind = "process", f = function(key, wctx, values, out)
        out:collect({ key, wctx.window.start, wctx.window.end_, #values })
      end } }
    w.feed({ "k", 1 }, 11)
    w.feed({ "k", 1 }, 15)
    w.watermark(19)
    assert.are.same({ { "k", 10, 20, 2 } }, u.values(w.op))
  end)

  it("fires count windows on the global window", function()
    local w = build { key = { field = 1 }, assigner = { type = "global" }, trigger = { type = "count", n = 2 },
      fn = { kind = "reduce", agg = "sum", field = 2 } }
    for i = 1, 5 do w.feed({ "a", i }, nil) end
    assert.are.same({ { "a", 3 }, { "a", 10 } }, u.values(w.op)) -- count does not purge
  end)

  it("snapshots its windows and timers; a restored operator fires them", function()
    local spec = { key = { field = 1 }, assigner = tumbling(10), fn = { kind = "reduce", agg = "sum", field = 2 } }
    local w = build(spec)
    w.feed({ "a", 1 }, 1)
    w.feed({ "a", 2 }, 2)
    w.feed({ "b", 3 }, 15)
    local snap = w.op.snapshot(1)
    local r = build(spec)
    r.op.restore({ snap }, false)
    r.feed({ "a", 4 }, 3)
    r.watermark(9)
    assert.are.same({ { "a", 7 } }, u.values(r.op))
    r.watermark(19)
    assert.are.same({ "b", 3 }, r.op.out[2].v)
  end)
end)
