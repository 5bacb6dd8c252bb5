-- The record writer (flow.runtime.record_writer), loaded directly. Its
-- buffers are real C buffers (flow_buffer_new of flow_native.so); the
-- task's hand-over (flow_task_emit) is caught by a fake FFI namespace that
-- decodes each buffer the writer hands over.
local u = require("helpers.unit")
u.native()
local fi = require("flow.ffi")
local codec = require("flow.codec")
local keys = require("flow.runtime.keys")
local record_writer = require("flow.runtime.record_writer")

local C = fi.C
local ffi = require("ffi")

--- The contents of a buffer: records as { v = value, ts = timestamp|nil },
--- events as { event = "watermark"|"status"|"barrier", x = payload }.
local function items(b)
  local p, n, off = b.data, b.size, 0
  local list, ts = {}, nil
  while off < n do
    local tag = p[off]
    if tag == fi.TAG_TS then
      ts = codec.get_time(p + off + 1)
      off = off + 9
    elseif tag == fi.TAG_WATERMARK or tag == fi.TAG_BARRIER then
      list[#list + 1] = { event = tag == fi.TAG_WATERMARK and "watermark" or "barrier", x = codec.get_time(p + off + 1) }
      off = off + 9
    elseif tag == fi.TAG_STATUS then
      list[#list + 1] = { event = "status", x = p[off + 1] == 1 }
      off = off + 2
    else
      local v
      v, off = codec.decode(p, off)
      list[#list + 1] = { v = v, ts = ts }
      ts = nil
    end
  end
  return list
end

--- Buffers a fake task gave out and did not take back: freed after each
--- test, as the real task frees what its Lua still holds when it ends.
local held = {}
local function hold(b) held[tonumber(ffi.cast("uintptr_t", b))] = b return b end
local function release(b) held[tonumber(ffi.cast("uintptr_t", b))] = nil end
local function free_held()
  for k, b in pairs(held) do
    C.flow_buffer_free(b)
    held[k] = nil
  end
end

--- A fake of the task's side of the FFI: buffers come from C, handed-over
--- buffers are decoded into `handed` and freed.
local function fake_task()
  local f = { handed = {}, records_out = 0, live = 0, rc = 0 }
  function f.flow_task_buffer(_, cap)
    f.live = f.live + 1
    return hold(C.flow_buffer_new(cap))
  end
  function f.flow_task_recycle(_, b)
    f.live = f.live - 1
    release(b)
    C.flow_buffer_free(b)
  end
  function f.flow_task_emit(_, output, channel, b)
    f.live = f.live - 1
    f.handed[#f.handed + 1] = { output = output, channel = channel, size = b.size, capacity = b.capacity,
      items = items(b) }
    release(b)
    C.flow_buffer_free(b)
    return f.rc
  end
  function f.flow_task_count(_, _, out) f.records_out = f.records_out + out end
  --- every record handed over on channel ch (0-based), in order
  function f.records(ch)
    local out = {}
    for _, h in ipairs(f.handed) do
      if h.channel == ch then
        for _, it in ipairs(h.items) do if not it.event then out[#out + 1] = it.v end end
      end
    end
    return out
  end
  return f
end

local function writer(partitioner, channels, opts)
  opts = opts or {}
  local fake = fake_task()
  local ctx = u.context { C = fake, desc = { subtask = opts.subtask or 0, parallelism = opts.parallelism or 1,
    buffer_timeout_ms = opts.timeout or 100 } }
  local out = { partitioner = partitioner, channels = channels, source_node = 1,
    target = { id = 2, name = "target", max_parallelism = 128 } }
  local w = record_writer.new(ctx, 1, out, opts.key, opts.combiner)
  return w, fake, ctx
end

describe("record writer", function()
  after_each(free_held)

  describe("chooses channels as Flink's partitioners", function()
    it("forward and global", function()
      local w, f = writer("forward", 3, { subtask = 5, parallelism = 3 })
      for i = 1, 4 do w.emit(i) end
      w.finish()
      assert.are.same({ 1, 2, 3, 4 }, f.records(2))
      assert.are.equal(1, #f.handed)
      w, f = writer("global", 3)
      w.emit("x")
      w.finish()
      assert.are.same({ "x" }, f.records(0))
    end)

    it("rebalance round-robin and shuffle at random", function()
      local w, f = writer("rebalance", 3)
      for i = 1, 9 do w.emit(i) end
      w.finish()
      for ch = 0, 2 do assert.are.equal(3, #f.records(ch)) end
      w, f = writer("shuffle", 4)
      for i = 1, 100 do w.emit(i) end
      w.finish()
      local n = 0
      for _, h in ipairs(f.handed) do
        assert.is_true(h.channel >= 0 and h.channel < 4)
        n = n + #h.items
      end
      assert.are.equal(100, n)
    end)

    it("rescale to a contiguous range of channels", function()
      local w, f = writer("rescale", 4, { subtask = 1, parallelism = 2 }) -- channels 2 and 3
      for i = 1, 4 do w.emit(i) end
      w.finish()
      assert.are.same({}, f.records(0))
      assert.are.same({}, f.records(1))
      assert.are.equal(2, #f.records(2))
      assert.are.equal(2, #f.records(3))
      w, f = writer("rescale", 2, { subtask = 3, parallelism = 4 }) -- fewer channels: one
      for i = 1, 3 do w.emit(i) end
      w.finish()
      assert.are.same({ 1, 2, 3 }, f.records(1))
    end)

    it("broadcast to every channel", function()
      local w, f = writer("broadcast", 3)
      w.emit("a")
      w.emit("b")
      w.finish()
      for ch = 0, 2 do assert.are.same({ "a", "b" }, f.records(ch)) end
    end)

    it("hash by the key's key group", function()
      local w, f = writer("hash", 4, { key = { field = 1 } })
      local words = {}
      for i = 1, 50 do words[i] = "w" .. i end
      for _, wd in ipairs(words) do w.emit({ wd, 1 }) end
      for _, wd in ipairs(words) do w.emit({ wd, 2 }) end
      w.finish()
      for ch = 0, 3 do
        for _, r in ipairs(f.records(ch)) do
          assert.are.equal(ch + 1, keys.channel(r[1], 128, 4))
        end
      end
      local n = 0
      for ch = 0, 3 do n = n + #f.records(ch) end
      assert.are.equal(100, n)
    end)
  end)

  describe("hands whole buffers to C", function()
    it("fills 32 KiB buffers, in order, and gives every buffer back", function()
      local w, f = writer("forward", 1)
      local sent = {}
      for i = 1, 5000 do
        sent[i] = { "record number " .. i, i }
        w.emit(sent[i])
      end
      assert.is_true(#f.handed >= 2) -- full buffers left already
      for _, h in ipairs(f.handed) do assert.is_true(h.size <= 32768 and h.size > 32768 - 64) end
      w.finish()
      assert.are.same(sent, f.records(0))
      assert.are.equal(5000, f.records_out)
      assert.are.equal(0, f.live) -- every C buffer was handed over or recycled
    end)

    it("sends a record larger than a buffer alone, in a buffer of its size", function()
      local w, f = writer("forward", 1)
      local big = string.rep("x", 40000)
      w.emit("before")
      w.emit(big)
      w.emit("after")
      w.finish()
      assert.are.same({ "before", big, "after" }, f.records(0))
      assert.are.same({ { v = big } }, f.handed[2].items)
      assert.is_true(f.handed[2].capacity >= 40005)
      assert.are.equal(0, f.live)
    end)

    it("flushes every record with a buffer timeout of 0, and only what it holds otherwise", function()
      local w, f = writer("forward", 1, { timeout = 0 })
      w.emit(1)
      w.emit(2)
      assert.are.equal(2, #f.handed)
      w.finish()
      w, f = writer("forward", 2, { timeout = 100 })
      w.emit(1)
      w.flush()
      w.flush()
      assert.are.equal(1, #f.handed) -- empty buffers are not handed over
      w.finish()
    end)

    it("writes timestamps before records and events on every channel", function()
      local w, f, ctx = writer("forward", 2)
      ctx.ts = 1234
      w.emit("stamped")
      ctx.ts = nil
      w.emit("plain")
      w.watermark(50)
      w.status(true)
      w.watermark(math.huge)
      w.barrier(7) -- a barrier leaves at once
      assert.are.equal(2, #f.handed)
      assert.are.same({ { v = "stamped", ts = 1234 }, { v = "plain" }, { event = "watermark", x = 50 },
        { event = "status", x = true }, { event = "watermark", x = math.huge }, { event = "barrier", x = 7 } },
        f.handed[1].items)
      assert.are.same({ { event = "watermark", x = 50 }, { event = "status", x = true },
        { event = "watermark", x = math.huge }, { event = "barrier", x = 7 } }, f.handed[2].items)
      w.finish()
    end)

    it("fails with the task's CANCELED once C refuses a buffer, and stays broken", function()
      local w, f, ctx = writer("forward", 1)
      f.rc = fi.ECANCELED
      w.emit(1)
      local ok, err = pcall(w.flush)
      assert.is_false(ok)
      assert.are.equal(ctx.CANCELED, err)
      ok, err = pcall(w.emit, 2)
      assert.is_false(ok)
      assert.are.equal(ctx.CANCELED, err)
    end)
  end)

  describe("with a batch combiner on the edge", function()
    local function totals(f, n)
      local t = {}
      for ch = 0, n - 1 do
        for _, r in ipairs(f.records(ch)) do
          assert.is_nil(t[r[1]], "one record per key")
          assert.are.equal(ch + 1, keys.channel(r[1], 128, n))
          t[r[1]] = r
        end
      end
      return t
    end

    it("ships one record per key, at the end of input", function()
      local w, f = writer("hash", 3, { key = { field = 1 }, combiner = { agg = "sum", field = 2, key = { field = 1 } } })
      for i = 1, 300 do w.emit({ "w" .. (i % 7), 1 }) end
      assert.are.equal(0, #f.handed) -- nothing before the end
      w.finish()
      local t = totals(f, 3)
      local n = 0
      for k, r in pairs(t) do
        n = n + 1
        assert.are.equal(k == "w0" and 42 or 43, r[2])
      end
      assert.are.equal(7, n)
      assert.are.equal(0, f.live)
    end)

    it("is also a collector's method, for a flat_map feeding the edge", function()
      local w, f = writer("hash", 2, { key = { field = 1 }, combiner = { agg = "sum", field = 2, key = { field = 1 } } })
      local out = { collect = w.collect }
      out:collect({ "a", 2 })
      w.emit({ "a", 3 })
      out:collect({ "b", 1 })
      w.finish()
      local t = totals(f, 2)
      assert.are.same({ a = { "a", 5 }, b = { "b", 1 } }, t)
      assert.is_nil(writer("hash", 2, { key = { field = 1 } }).collect) -- no combiner: emit only
    end)

    it("does not change the records it is given", function()
      local w = writer("hash", 1, { key = { field = 1 }, combiner = { agg = "sum", field = 2, key = { field = 1 } } })
      local r = { "a", 1 }
      w.emit(r)
      w.emit(r)
      assert.are.same({ "a", 1 }, r)
      w.finish()
    end)

    it("combines min, max, min_by, max_by, named fields and table keys", function()
      local cases = {
        { { agg = "min", field = 2, key = { field = 1 } }, { a = { "a", 1, "x" }, b = { "b", 5, "y" } } },
        { { agg = "max", field = 2, key = { field = 1 } }, { a = { "a", 9, "x" }, b = { "b", 5, "y" } } },
        { { agg = "min_by", field = 2, key = { field = 1 } }, { a = { "a", 1, "p" }, b = { "b", 5, "y" } } },
        { { agg = "max_by", field = 2, key = { field = 1 } }, { a = { "a", 9, "r" }, b = { "b", 5, "y" } } },
      }
      for _, c in ipairs(cases) do
        local w, f = writer("hash", 2, { key = { field = 1 }, combiner = c[1] })
        for _, r in ipairs { { "a", 3, "x" }, { "a", 1, "p" }, { "b", 5, "y" }, { "a", 9, "r" } } do w.emit(r) end
        w.finish()
        assert.are.same(c[2], totals(f, 2), c[1].agg)
      end
      -- a field name, and a tuple as the key
      local w, f = writer("hash", 2, { key = { field = "k" }, combiner = { agg = "sum", field = "n", key = { field = "k" } } })
      for _ = 1, 3 do w.emit({ k = { "x", 1 }, n = 2 }) end
      w.emit({ k = { "x", 2 }, n = 1 })
      w.finish()
      local got = {}
      for ch = 0, 1 do for _, r in ipairs(f.records(ch)) do got[#got + 1] = r end end
      table.sort(got, function(a, b) return a.n < b.n end)
      assert.are.same({ { k = { "x", 2 }, n = 1 }, { k = { "x", 1 }, n = 6 } }, got)
    end)

    it("is found in the producing operator's spec, keyed by the target node", function()
      local out = { source_node = 4, target = { id = 9 } }
      local comb = { agg = "sum", field = 2, key = { field = 1 } }
      local chain = { { id = 3, spec = {} }, { id = 4, spec = { out_combine = { [9] = comb } } } }
      local producer = record_writer.producer(chain, out)
      assert.are.equal(chain[2], producer)
      assert.are.equal(comb, record_writer.edge_combiner(producer, out))
      assert.is_nil(record_writer.edge_combiner(chain[1], out))
      assert.is_nil(record_writer.edge_combiner(chain[2], { target = { id = 8 } }))
      assert.is_nil(record_writer.edge_combiner(nil, out))
    end)
  end)
end)
