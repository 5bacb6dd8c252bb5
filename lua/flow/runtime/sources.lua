--- Sources (Flink's SourceFunction and its built-ins): collections,
--- sequences, text files (lines split in C, src/runtime/line_reader.c),
--- sockets, stdin and user sources. A source runs at the head of its chain
--- and drives the task: between batches it calls ctx.maybe_flush, which
--- checks cancellation, fires processing-time timers, takes checkpoints and
--- flushes on the buffer timeout.
local ffi = require("ffi")
local fi = require("flow.ffi")

local C = fi.C
local mono_ms = fi.mono_ms
local TAG_SHORT_STRING = fi.TAG_SHORT_STRING
local floor = math.floor

local M = {}

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
  local counted = first - 1
  for i = first, last do
    emit(xs[i])
    if i % CHECK_EVERY == 0 then
      maybe_flush(i + 1, i - counted)
      counted = i
    end
  end
  ctx.count_source(last - counted)
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

--- from_nexmark{ events = N, seed = S, base = MS, rate = R }: the Nexmark generator
--- (stdlib/nexmark.c). Subtask i of p makes events i, i + p, i + 2p, ...
--- of the N (so event time advances alike in every subtask); each event is
--- one flat table: the person's, auction's or bid's fields (Nexmark's names)
--- and event_type 0, 1 or 2. Its position is the next event number.
local NEXMARK_BATCH = 256
local NEXMARK_EXTRA_SLOTS, NEXMARK_POOL = 32, 1024 * 1024 -- as stdlib/nexmark.c
function sources.nexmark(op, ctx, emit)
  local spec = op.spec
  local n, p = spec.events, ctx.parallelism
  local g = C.flow_nexmark_new(spec.seed, spec.base, spec.rate)
  if g == nil then error("from_nexmark: out of memory", 0) end
  g = ffi.gc(g, C.flow_nexmark_free)
  local batch = ffi.new("flow_nexmark_event_t[?]", NEXMARK_BATCH)
  local arena, pool = C.flow_nexmark_arena(g), C.flow_nexmark_pool(g)
  local ffi_string = ffi.string
  local maybe_flush = ctx.maybe_flush
  local PERSON, BID = fi.NEXMARK_PERSON, fi.NEXMARK_BID
  local function str(ev, i) return ffi_string(arena + ev.str_off[i], ev.str_len[i]) end
  -- strings that repeat are made once: the padding (`extra`) by (pool slot,
  -- length), bids' channel and url by channel (dense arrays, prefilled:
  -- sparse integer keys are not compiled)
  local stride = NEXMARK_POOL / 2 / NEXMARK_EXTRA_SLOTS
  local extras, channels, urls = {}, {}, {}
  for i = 0, NEXMARK_EXTRA_SLOTS - 1 do
    local t = {}
    for j = 0, 1023 do t[j] = false end
    extras[i] = t
  end
  for i = 0, 10003 do channels[i], urls[i] = false, false end
  local pos = op.restored_position or ctx.subtask
  while pos < n do
    local count = math.min(NEXMARK_BATCH, math.ceil((n - pos) / p))
    C.flow_nexmark_generate(g, pos, p, count, batch)
    for i = 0, count - 1 do
      local ev = batch[i]
      local t = ev.type
      local es, len = extras[ev.extra_off / stride], ev.extra_len
      local extra = es[len]
      if not extra then
        extra = ffi_string(pool + ev.extra_off, len)
        es[len] = extra
      end
      if t == BID then
        local ch = ev.category
        local channel = channels[ch]
        if not channel then
          channel = str(ev, 0)
          channels[ch], urls[ch] = channel, str(ev, 1)
        end
        emit({ event_type = 2, auction = ev.id, bidder = ev.ref, price = ev.price, channel = channel,
          url = urls[ch], dateTime = ev.date_time, extra = extra })
      elseif t == PERSON then
        emit({ event_type = 0, id = ev.id, name = str(ev, 0), emailAddress = str(ev, 1),
          creditCard = str(ev, 2), city = str(ev, 3), state = str(ev, 4), dateTime = ev.date_time,
          extra = extra })
      else
        emit({ event_type = 1, id = ev.id, itemName = str(ev, 0), description = str(ev, 1),
          initialBid = ev.price, reserve = ev.reserve, dateTime = ev.date_time, expires = ev.expires,
          seller = ev.ref, category = ev.category, extra = extra })
      end
    end
    pos = pos + count * p
    maybe_flush(pos, count)
  end
  ffi.gc(g, nil)
  C.flow_nexmark_free(g)
end

--- read_text_file: subtask i reads the byte range [i*size/p, (i+1)*size/p);
--- a line belongs to the split in which it starts (as Flink's
--- DelimitedInputFormat), so every line is read exactly once. In the
--- MiniCluster without checkpoints (desc.lazy_splits), when the lines go to
--- Lua, the file is cut into many splits that the subtasks take on request
--- (Flink's InputSplitAssigner), so a faster subtask reads more and none idles.

--- read_text_file straight into a C operator: C reads and splits the
--- lines into record batches, no Lua string per line.
local function text_file_to_c(op, ctx, c_batch, lo, hi, cap, no_total)
  local err = ffi.new("char[512]")
  local r = C.flow_lines_open(op.spec.path, lo, hi, op.restored_position or -1, err, 512)
  if r == nil then error("read_text_file: " .. ffi.string(err), 0) end
  r = ffi.gc(r, C.flow_lines_close)
  cap = cap or 32 * 1024
  local buf = ffi.new("uint8_t[?]", cap)
  local cnt, big, big_len = ffi.new("size_t[1]"), ffi.new("uint8_t *[1]"), ffi.new("size_t[1]")
  local task, maybe_flush = ctx.task, ctx.maybe_flush
  local last = fi.lines_position(r)
  C.flow_task_input_progress(task, last - lo, no_total and 0 or hi - lo)
  while true do
    local n = fi.lines_next(r, buf, cap, cnt, big, big_len)
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
    local pos = fi.lines_position(r)
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
  local split = math.max(SPLIT_MIN, math.ceil(size / (p * SPLITS_PER_SUBTASK)))
  local n = math.ceil(size / split)
  if i == 0 then C.flow_task_input_progress(ctx.task, 0, size) end -- the total, once
  while true do
    local s = fi.task_next_split(ctx.task)
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
  -- (short: u8 length, long: u32 length), read here without a call.
  local ffi_string, u32p = ffi.string, ffi.typeof("uint32_t *")
  local function lua_batch(p, len)
    local off, n = 0, tonumber(len)
    while off < n do
      local l
      if p[off] == TAG_SHORT_STRING then
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


--- Lines from a file descriptor, split on `delim`, until end of stream. A
--- read waits at most 50 ms, so cancellation and the buffer timeout are
--- checked between reads. As Flink's SocketTextStreamFunction, a "\r"
--- before a "\n" delimiter is dropped and a last unterminated line is
--- emitted at the end.
local function read_lines(fd, delim, ctx, emit, what)
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
    local n = fi.fd_read(fd, buf, cap, 50, err, 256)
    if n == fi.EIO then error(what .. ": read failed: " .. ffi.string(err), 0) end
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
  local fd = C.flow_socket_connect(spec.host, spec.port, err, 256)
  if fd < 0 then error("socket_text_stream: " .. ffi.string(err), 0) end
  local ok, e = pcall(read_lines, fd, spec.delimiter or "\n", ctx, emit, "socket_text_stream")
  C.flow_fd_close(fd)
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
  -- A user source may be slow or fast: the buffer timeout, cancellation,
  -- timers and checkpoints are checked after `every` records, a number that
  -- adapts so that checks come about once per millisecond of emitting (1
  -- for a source slower than a record per millisecond, up to 1024).
  local every, pending, last = 1, 0, mono_ms()
  local function counted()
    pending = pending + 1
    if pending < every then return end
    maybe_flush(nil, pending)
    pending = 0
    local now = mono_ms()
    if now == last then
      if every < 1024 then every = every * 2 end
    elseif now - last > 1 and every > 1 then
      every = every / 2
    end
    last = now
  end
  local sctx
  sctx = {
    collect = function(_, v)
      ctx.ts = nil
      emit(v)
      return counted()
    end,
    collect_with_timestamp = function(_, v, ts)
      ctx.ts = ts
      emit(v)
      ctx.ts = nil
      return counted()
    end,
    emit_watermark = function(_, wm)
      ctx.ts = nil
      op.on_watermark(wm)
    end,
    is_running = function() return C.flow_task_canceled(ctx.task) == 0 end,
    subtask_index = function() return ctx.subtask end,
    parallelism = function() return ctx.parallelism end,
    counter = function(_, name) return ctx:counter(name) end,
    --- Waits ms milliseconds while output is still flushed on the buffer
    --- timeout, timers fire and cancellation is noticed.
    sleep = function(_, ms)
      local deadline = mono_ms() + ms
      every = 1 -- a source that sleeps is slow
      while true do
        maybe_flush(nil, pending)
        pending = 0
        local left = deadline - mono_ms()
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

--- Runs the source at the head of the chain until its input ends (or the
--- task is canceled); it pushes into op.emit.
---@param op flow.Op
---@param ctx flow.TaskContext
function M.run(op, ctx)
  if op.finished_on_restore then return end
  local kind = op.spec.kind
  local run = sources[kind]
  if not run then error("unknown source kind '" .. tostring(kind) .. "'") end
  run(op, ctx, op.emit)
end

--- A source's checkpoint state: where it would resume.
---@param op flow.Op
---@param ctx flow.TaskContext
function M.checkpoints(op, ctx)
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
