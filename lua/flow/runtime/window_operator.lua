--- The window operator (Flink's WindowOperator / EvictingWindowOperator),
--- running inside a task: assigns each record to windows, keeps window
--- contents in keyed state (namespace = the window), asks the trigger what
--- to do on every record and timer, merges session windows, drops or
--- side-outputs late records, and cleans up after the allowed lateness.
local fi = require("flow.ffi")
local windows = require("flow.runtime.windows")
local timers = require("flow.runtime.timers")
local state = require("flow.runtime.state")
local keys = require("flow.runtime.keys")
local keyed = require("flow.runtime.operators.keyed")
local aggregation = require("flow.runtime.operators.aggregation")
local collector = require("flow.runtime.operators.transforms").collector

local huge = math.huge
local now_ms = fi.now_ms
local FIRE, PURGE, FIRE_AND_PURGE = windows.FIRE, windows.PURGE, windows.FIRE_AND_PURGE

local M = {}

local CONTENTS, SESSIONS = "window-contents", "window-sessions"

--- Keyed and all-windows (window_all): builds the operator; returns push(v).
---@param op flow.Op
---@param ctx flow.TaskContext
function M.window(op, ctx)
  local spec = op.spec
  local emit, side = op.emit, op.side
  local all = spec.all
  local key_of = all and function() return 0 end or keys.selector(spec.key)
  local assigner = windows.assigner(spec.assigner)
  local trigger = windows.trigger(spec.trigger or assigner.default_trigger)
  local evict = spec.evictor and windows.evictor(spec.evictor)
  local lateness = spec.lateness or 0
  local late_tag = spec.late_tag
  local event_time = assigner.event_time
  local merging = assigner.merging
  if merging and not trigger.can_merge then
    error("this trigger cannot be used with merging (session) windows", 0)
  end
  local fn = spec.fn
  -- incremental: reduce/aggregate without an evictor keep one accumulator
  local incremental = (fn.kind == "reduce" or fn.kind == "aggregate") and not evict
  local step
  if fn.kind == "reduce" then
    step = aggregation.reducer(fn)
  elseif fn.kind == "aggregate" then
    local agg = fn.agg
    step = function(acc, v)
      if acc == nil then acc = agg.create() end
      return agg.add(v, acc)
    end
  end

  local backend = state.new(keys.assigner(ctx.desc.max_parallelism))
  op.backend = backend
  local event_timers = timers.new()
  op.event_timers = event_timers
  local keys = {} -- state key -> key (for end-of-input firing)
  local wo = {} -- the timer owner
  -- checkpoints: windows come back interned, so identity comparisons hold
  local function intern(w)
    if type(w) ~= "table" then return w end
    if w.id == "global" then return windows.GLOBAL end
    return windows.window(w.start, w.end_)
  end
  keyed.checkpoints(op, ctx, { wo = wo }, {
    fix_state = function(name, v)
      if name == SESSIONS then
        for i = 1, #v do v[i] = intern(v[i]) end
      end
      return v
    end,
    fix_timer = function(d1, d2) return d1, intern(d2) end,
    extra_snapshot = function() return keys end,
    extra_restore = function(k, in_range)
      for sk, key in pairs(k) do if in_range(key) then keys[sk] = key end end
    end,
  })

  local function cleanup_time(w)
    if event_time then
      local t = w.max_ts + lateness
      return t
    end
    return w.max_ts
  end

  local function is_late(w)
    return event_time and cleanup_time(w) <= op.current_wm
  end

  -- the trigger's context: current key and window are set before each call
  local tctx = { w = nil, key = nil, merged = nil }
  function tctx:current_watermark() return op.current_wm end
  function tctx:current_processing_time() return now_ms() end
  function tctx:register_event_time_timer(t)
    event_timers:register(wo, backend.sk, t, self.w.id, self.key, self.w)
  end
  function tctx:delete_event_time_timer(t) event_timers:delete(wo, backend.sk, t, self.w.id) end
  function tctx:register_processing_time_timer(t)
    ctx.processing_timers:register(wo, backend.sk, t, self.w.id, self.key, self.w)
  end
  function tctx:delete_processing_time_timer(t)
    ctx.processing_timers:delete(wo, backend.sk, t, self.w.id)
  end
  function tctx:get_state(name) return backend:get("trigger." .. name, self.w.id) end
  function tctx:put_state(name, v) backend:put("trigger." .. name, v, self.w.id) end
  function tctx:merged_sum(name)
    local s = 0
    for _, w in ipairs(self.merged or {}) do s = s + (backend:get("trigger." .. name, w.id) or 0) end
    return s
  end
  function tctx:merged_min(name)
    local m
    for _, w in ipairs(self.merged or {}) do
      local x = backend:get("trigger." .. name, w.id)
      if x ~= nil and (m == nil or x < m) then m = x end
    end
    return m
  end
  local function at(key, w)
    tctx.key, tctx.w = key, w
    return tctx
  end

  -- the window function's context
  local wctx = { window = nil, key = nil }
  function wctx:current_watermark() return op.current_wm end
  function wctx:current_processing_time() return now_ms() end
  function wctx:output(tag, v)
    local e = side[type(tag) == "table" and tag.name or tag]
    if e then e(v) end
  end
  function wctx:current_key() return self.key end
  function wctx:counter(name) return ctx:counter(name) end
  local out = collector(op)

  local function add_to(w, v, ts)
    local c = backend:get(CONTENTS, w.id)
    if incremental then
      backend:put(CONTENTS, step(c, v), w.id)
    else
      if c == nil then
        c = {}
        backend:put(CONTENTS, c, w.id)
      end
      c[#c + 1] = { v, ts }
    end
  end

  local function merge_contents(into, from)
    local a, b = backend:get(CONTENTS, into.id), backend:get(CONTENTS, from.id)
    if b == nil then return end
    if a == nil then
      backend:put(CONTENTS, b, into.id)
    elseif incremental then
      if fn.kind == "aggregate" then
        if not fn.agg.merge then error("aggregate on session windows needs agg.merge", 0) end
        backend:put(CONTENTS, fn.agg.merge(a, b), into.id)
      else
        backend:put(CONTENTS, step(a, b), into.id)
      end
    else
      for i = 1, #b do a[#a + 1] = b[i] end
      table.sort(a, function(x, y) return (x[2] or 0) < (y[2] or 0) end)
    end
    backend:remove(CONTENTS, from.id)
  end

  -- emits what the window function makes of a window's contents c
  local function emit_contents(key, w, c)
    local values
    local saved_ts = ctx.ts
    ctx.ts = w.max_ts ~= huge and w.max_ts or nil -- results carry the window's max timestamp
    if incremental then
      local result = c
      if fn.kind == "aggregate" then result = fn.agg.result(c) end
      if fn.window_fn then
        wctx.window, wctx.key = w, key
        if all then fn.window_fn(wctx, { result }, out) else fn.window_fn(key, wctx, { result }, out) end
      else
        emit(result)
      end
      ctx.ts = saved_ts
      return
    end
    if evict then
      c = evict(c, w)
      backend:put(CONTENTS, #c > 0 and c or nil, w.id)
      if #c == 0 then
        ctx.ts = saved_ts
        return
      end
    end
    values = {}
    for i = 1, #c do values[i] = c[i][1] end
    local k = fn.kind
    if k == "reduce" or k == "aggregate" then
      local acc
      for i = 1, #values do acc = step(acc, values[i]) end
      if k == "aggregate" then acc = fn.agg.result(acc) end
      if fn.window_fn then
        wctx.window, wctx.key = w, key
        if all then fn.window_fn(wctx, { acc }, out) else fn.window_fn(key, wctx, { acc }, out) end
      else
        emit(acc)
      end
    elseif k == "process" then
      wctx.window, wctx.key = w, key
      if all then fn.f(wctx, values, out) else fn.f(key, wctx, values, out) end
    elseif k == "apply" then
      if all then fn.f(w, values, out) else fn.f(key, w, values, out) end
    end
    ctx.ts = saved_ts
  end

  local function emit_window(key, w)
    local c = backend:get(CONTENTS, w.id)
    if c ~= nil then return emit_contents(key, w, c) end
  end

  -- the common case runs without per-record trigger calls, timers or
  -- window state lookups (see fast_path below)
  if event_time and not merging and not evict and lateness == 0 and
      (spec.trigger == nil or spec.trigger.type == "event_time") and
      (assigner.desc.type == "tumbling" or assigner.desc.type == "sliding") then
    return M.fast_path(op, ctx, {
      key_of = key_of, assigner = assigner.desc, incremental = incremental, step = step, keys = keys,
      emit_contents = emit_contents, wo = wo, backend = backend, event_timers = event_timers,
      late_tag = late_tag,
    })
  end
  if event_time and merging and not evict and lateness == 0 and
      (spec.trigger == nil or spec.trigger.type == "event_time") and assigner.desc.type == "session" then
    return M.session_fast_path(op, ctx, {
      key_of = key_of, gap = assigner.desc.gap, incremental = incremental, step = step, keys = keys,
      emit_contents = emit_contents, wo = wo, backend = backend, event_timers = event_timers,
      late_tag = late_tag, merge_acc = function(a, b)
        if fn.kind == "aggregate" then
          if not fn.agg.merge then error("aggregate on session windows needs agg.merge", 0) end
          return fn.agg.merge(a, b)
        end
        return step(a, b)
      end,
    })
  end

  local function clear_window(key, w)
    backend:remove(CONTENTS, w.id)
    trigger.clear(w, at(key, w))
    if merging then
      local set = backend:get(SESSIONS)
      if set then
        for i = #set, 1, -1 do if set[i].id == w.id then table.remove(set, i) end end
        if #set == 0 then backend:remove(SESSIONS) end
      end
    end
  end

  local function react(key, w, result)
    if result == FIRE or result == FIRE_AND_PURGE then emit_window(key, w) end
    if result == PURGE or result == FIRE_AND_PURGE then backend:remove(CONTENTS, w.id) end
  end

  local function register_cleanup(key, w)
    local t = cleanup_time(w)
    if t == huge then return end -- the global window lives forever
    if event_time then
      event_timers:register(wo, backend.sk, t, w.id, key, w)
    else
      ctx.processing_timers:register(wo, backend.sk, t, w.id, key, w)
    end
  end

  -- session windows: merge the new window with every window it touches
  local function merge_session(key, neww)
    local set = backend:get(SESSIONS)
    if set == nil then
      set = {}
      backend:put(SESSIONS, set)
    end
    local merged, absorbed = neww, {}
    local changed = true
    while changed do
      changed = false
      for i = #set, 1, -1 do
        local w = set[i]
        if windows.intersects(w, merged) then
          merged = windows.cover(merged, w)
          absorbed[#absorbed + 1] = w
          table.remove(set, i)
          changed = true
        end
      end
    end
    if #absorbed > 0 then
      for _, w in ipairs(absorbed) do
        if w.id ~= merged.id then merge_contents(merged, w) end
      end
      -- as Flink: the trigger merges the absorbed windows' trigger state
      -- first; only then are those windows cleared
      tctx.merged = absorbed
      trigger.on_merge(merged, at(key, merged))
      tctx.merged = nil
      for _, w in ipairs(absorbed) do
        if w.id ~= merged.id then
          trigger.clear(w, at(key, w))
          local t = cleanup_time(w)
          if event_time then event_timers:delete(wo, backend.sk, t, w.id)
          else ctx.processing_timers:delete(wo, backend.sk, t, w.id) end
        end
      end
    end
    set[#set + 1] = merged
    return merged
  end

  local function on_timer(key, ts, w, is_event)
    backend:set_key(key)
    if merging then -- a window merged away has no timers of its own any more
      local set, live = backend:get(SESSIONS), false
      for _, x in ipairs(set or {}) do if x.id == w.id then live = true end end
      if not live then return end
    end
    local saved = ctx.ts
    local r
    if is_event then r = trigger.on_event_time(ts, w, at(key, w))
    else r = trigger.on_processing_time(ts, w, at(key, w)) end
    react(key, w, r)
    if ts == cleanup_time(w) and (is_event == event_time) then clear_window(key, w) end
    ctx.ts = saved
  end

  function wo:on_processing_timer(_, ts, _, key, w) on_timer(key, ts, w, false) end
  local function fire_event(_, _, ts, _, key, w) on_timer(key, ts, w, true) end

  op.on_watermark = function(wm)
    op.current_wm = wm
    event_timers:advance(wm, fire_event)
    if wm == huge then
      -- end of input: triggers may fire what is left (see windows.trigger)
      for _, g in pairs(backend.data) do
        local t = g[CONTENTS]
        if t then
          local pending = {}
          for sk, e in pairs(t) do
            for wid in pairs(e) do pending[#pending + 1] = { sk, wid } end
          end
          for _, pw in ipairs(pending) do
            local key = keys[pw[1]]
            backend:set_key(key)
            local w = pw[2] == "global" and windows.GLOBAL or nil
            if w == nil then
              local s, e = pw[2]:match("^(.-):(.-)$")
              w = windows.window(tonumber(s), tonumber(e))
            end
            react(key, w, trigger.on_end_of_input(w, at(key, w)))
          end
        end
      end
    end
    return op.emit_wm(wm)
  end

  return function(v)
    local key = key_of(v)
    backend:set_key(key)
    keys[backend.sk] = key
    local ts
    if event_time then
      ts = ctx.ts
      if ts == nil then
        error("an event-time window got a record without a timestamp: call " ..
          "assign_timestamps_and_watermarks(...) before the window", 0)
      end
    else
      ts = now_ms() -- processing time: the record's event timestamp does not matter
    end
    local assigned = assigner.assign(v, ts)
    local skipped = true
    for i = 1, #assigned do
      local w = assigned[i]
      if merging then w = merge_session(key, w) end
      if is_late(w) then
        if merging then clear_window(key, w) end
      else
        skipped = false
        add_to(w, v, ctx.ts)
        react(key, w, trigger.on_element(v, ts, w, at(key, w)))
        register_cleanup(key, w)
      end
    end
    -- as Flink: a skipped record is late data only when the record itself
    -- is late (a record no window takes is dropped silently)
    if skipped and event_time and ts + lateness <= op.current_wm then
      if late_tag and side[late_tag] then
        side[late_tag](v)
      else
        ctx:counter("num_late_records_dropped"):add(1)
        local m = op.metrics -- Flink's numLateRecordsDropped
        if m then ctx.C.flow_op_metrics_add(m, 0, 0, 1) end
      end
    end
  end
end

--- The fast paths' late records: late data only when the record itself is
--- late (as the general path: a record no window takes is dropped silently):
--- to the late side output, else counted.
local function late_record(op, ctx, late_tag)
  local side = op.side
  return function(v, ts)
    if ts <= op.current_wm then
      if late_tag and side[late_tag] then
        side[late_tag](v)
      else
        ctx:counter("num_late_records_dropped"):add(1)
        local m = op.metrics -- Flink's numLateRecordsDropped
        if m then ctx.C.flow_op_metrics_add(m, 0, 0, 1) end
      end
    end
  end
end

local function drop() end

--- For a fast path's snapshot: window w's contents c of key (state key sk)
--- as the general path keeps them — in keyed state, namespace w.id, with
--- the window's event-time timer.
local function materialize(o, key, sk, w, c)
  o.backend:set_key(key)
  o.backend:put(CONTENTS, c, w.id)
  o.event_timers:register(o.wo, sk, w.max_ts, w.id, key, w)
end

--- After a fast path's snapshot (or restore): its state lives in its own
--- structures again; the keyed state and timers it went through are emptied.
local function forget_materialized(backend, event_timers)
  backend.data, backend.key, backend.sk, backend.kg = {}, nil, nil, nil
  while event_timers:size() > 0 do event_timers:advance(math.huge, drop) end
end

--- The window operator's fast path: event-time tumbling or sliding windows
--- with Flink's default EventTimeTrigger, no evictor, no allowed lateness —
--- what the general path does, without its per-record machinery. Windows
--- are panes by window start, each holding one accumulator (or, for
--- process/apply, the { value, timestamp } list) per state key and the
--- keys in the order they entered it; a watermark fires the panes it
--- passed, in window order, each key in that order (the order in which the
--- general path's timers would fire). Checkpoints hold exactly what the
--- general path's would: window contents in keyed state (namespace = the
--- window id) and one event-time timer per (key, window).
---@param op flow.Op
---@param ctx flow.TaskContext
---@param o table the general path's pieces (key_of, assigner desc, step, ...)
function M.fast_path(op, ctx, o)
  local key_of, step, incremental = o.key_of, o.step, o.incremental
  local emit_contents, keys, late_tag = o.emit_contents, o.keys, o.late_tag
  local backend, event_timers = o.backend, o.event_timers
  local state_key = state.state_key
  local d = o.assigner
  local size, offset = d.size, d.offset or 0
  local slide = d.type == "sliding" and d.slide or size
  -- tumbling, at the head of its chain: every record is fresh from the
  -- network and ours alone, and goes to one window: a key's first record
  -- becomes its accumulator (no copy). (A sliding window's record goes to
  -- several windows: each needs its own accumulator.)
  if incremental and slide == size and ctx.chain[1] == op and op.spec.fn.kind == "reduce" then
    step = aggregation.reducer(op.spec.fn, true)
  end

  -- The open panes, oldest first, each { w, start, acc = { [sk] = acc },
  -- order = { sk... }, n }; found by window start in a ring indexed by
  -- start / slide (a dense array: LuaJIT compiles no lookup of sparse
  -- integer keys), which doubles when more panes are open than it holds.
  local pending = {}
  local ring_size, ring = 16, {}
  for i = 1, ring_size do ring[i] = false end
  local function slot(start) return (start - offset) / slide % ring_size + 1 end
  local function pane_for(start)
    local p = ring[slot(start)]
    if p and p.start == start then return p end
    p = { w = windows.window(start, start + size), start = start, acc = {}, order = {}, n = 0 }
    local i = #pending + 1
    while i > 1 and pending[i - 1].start > start do
      pending[i] = pending[i - 1]
      i = i - 1
    end
    pending[i] = p
    while true do -- place every open pane; grow the ring on a collision
      local fits = true
      for j = 1, ring_size do ring[j] = false end
      for j = 1, #pending do
        local q = pending[j]
        local k = slot(q.start)
        if ring[k] then fits = false break end
        ring[k] = q
      end
      if fits then break end
      ring_size = ring_size * 2
      for j = 1, ring_size do ring[j] = false end
    end
    return p
  end
  local function find(start)
    local p = ring[slot(start)]
    if p and p.start == start then return p end
    return pane_for(start)
  end
  local function close(p)
    table.remove(pending, 1)
    local k = slot(p.start)
    if ring[k] == p then ring[k] = false end
  end

  local late = late_record(op, ctx, late_tag)

  local function add(p, sk, key, v, ts)
    local acc = p.acc
    local a = acc[sk]
    if a == nil then
      local n = p.n + 1
      p.n = n
      p.order[n] = sk
      keys[sk] = key
      if incremental then acc[sk] = step(nil, v) else acc[sk] = { { v, ts } } end
    elseif incremental then
      acc[sk] = step(a, v)
    else
      a[#a + 1] = { v, ts }
    end
  end

  local function fire(p)
    local acc, order, w = p.acc, p.order, p.w
    for i = 1, p.n do
      local sk = order[i]
      emit_contents(keys[sk], w, acc[sk])
    end
  end

  op.on_watermark = function(wm)
    op.current_wm = wm
    while pending[1] ~= nil and pending[1].w.max_ts <= wm do
      local p = pending[1]
      close(p)
      fire(p)
    end
    return op.emit_wm(wm)
  end

  -- checkpoints: the panes go into keyed state and timers for the
  -- snapshot, and come back out of them after a restore
  local snapshot, restore = op.snapshot, op.restore
  op.snapshot = function(id)
    for _, p in ipairs(pending) do
      local w = p.w
      for i = 1, p.n do
        local sk = p.order[i]
        materialize(o, keys[sk], sk, w, p.acc[sk])
      end
    end
    local s = snapshot(id)
    forget_materialized(backend, event_timers)
    return s
  end
  op.restore = function(states, rescaled)
    restore(states, rescaled)
    local found = {}
    for _, g in pairs(backend.data) do
      for sk, by_window in pairs(g[CONTENTS] or {}) do
        for wid, c in pairs(by_window) do
          local st, en = wid:match("^(.-):(.-)$")
          found[#found + 1] = { tonumber(st), sk, c }
          assert(tonumber(en) == tonumber(st) + size, "a restored window of another size")
        end
      end
    end
    table.sort(found, function(a, b) return a[1] < b[1] end)
    for _, f in ipairs(found) do
      local p = pane_for(f[1])
      p.n = p.n + 1
      p.order[p.n] = f[2]
      p.acc[f[2]] = f[3]
    end
    forget_materialized(backend, event_timers)
  end

  local function check_ts(ts)
    if ts == nil then
      error("an event-time window got a record without a timestamp: call " ..
        "assign_timestamps_and_watermarks(...) before the window", 0)
    end
  end

  if slide == size then -- tumbling: one window per record
    local last_start, last_pane = nil, nil
    return function(v)
      local key = key_of(v)
      local ts = ctx.ts
      if ts == nil then check_ts(ts) end
      local start = ts - (ts - offset + size) % size
      if start + size - 1 <= op.current_wm then return late(v, ts) end
      local p = last_pane
      if start ~= last_start then -- (a fired pane's records are late: caught above)
        p = pane_for(start)
        last_start, last_pane = start, p
      end
      local sk = key
      if type(key) ~= "string" and type(key) ~= "number" then
        if key == nil then error("a key selector returned nil", 0) end
        sk = state_key(key)
      end
      return add(p, sk, key, v, ts)
    end
  end

  return function(v) -- sliding: size / slide windows per record
    local key = key_of(v)
    local ts = ctx.ts
    if ts == nil then check_ts(ts) end
    local sk = key
    if type(key) ~= "string" and type(key) ~= "number" then
      if key == nil then error("a key selector returned nil", 0) end
      sk = state_key(key)
    end
    local wm, taken = op.current_wm, false
    local start = ts - (ts - offset + slide) % slide
    while start > ts - size do
      if start + size - 1 > wm then
        taken = true
        add(find(start), sk, key, v, ts)
      end
      start = start - slide
    end
    if not taken then return late(v, ts) end
  end
end

--- The window operator's fast path for event-time session windows with
--- the default trigger, no evictor, no allowed lateness. Per key, its live
--- sessions { start, end_, acc, seq } (usually one); a record extends the
--- sessions its window [ts, ts + gap) touches and merges them as the
--- general path does (same order, same accumulators), without window
--- objects, trigger calls or timers per record. Firing: a heap of (end - 1,
--- seq, session) entries pushed when a session starts, updated lazily — an
--- entry that comes due for a session that has grown since is pushed again
--- with the session's current end — so sessions fire in the order of the
--- general path's timers (time, then when the window was last changed).
--- Checkpoints hold what the general path's would: the key's session list
--- and each session's contents in keyed state, one timer per session.
---@param op flow.Op
---@param ctx flow.TaskContext
---@param o table
local function by_time(x, y) return (x[2] or 0) < (y[2] or 0) end

function M.session_fast_path(op, ctx, o)
  local key_of, step, incremental, gap = o.key_of, o.step, o.incremental, o.gap
  local emit_contents, keys, late_tag = o.emit_contents, o.keys, o.late_tag
  local backend, event_timers, merge_acc = o.backend, o.event_timers, o.merge_acc
  local state_key = state.state_key
  local min, max = math.min, math.max
  -- a session is an array (a table with a template: no hash part to fill)
  local S_START, S_END, S_ACC, S_SEQ, S_SK, S_DEAD = 1, 2, 3, 4, 5, 6
  if incremental and ctx.chain[1] == op and op.spec.fn.kind == "reduce" then
    -- at the head of its chain every record is fresh from the network and
    -- ours alone: a session's first record becomes its accumulator
    step = aggregation.reducer(op.spec.fn, true)
  end

  local sessions = {} -- sk -> { session... } in the general path's SESSIONS order
  local seq = 0
  -- the firing heap, as parallel arrays (time, seq, session) so that its
  -- loops compile: ordered by time, then seq
  local hts, hseq, hs, hn = {}, {}, {}, 0
  local function push(t, q, s)
    hn = hn + 1
    local j = hn
    while j > 1 do
      local p = (j - j % 2) / 2
      local pt = hts[p]
      if pt < t or (pt == t and hseq[p] < q) then break end
      hts[j], hseq[j], hs[j] = pt, hseq[p], hs[p]
      j = p
    end
    hts[j], hseq[j], hs[j] = t, q, s
  end
  local function pop() -- removes the top; returns its time, seq, session
    local t0, q0, s0 = hts[1], hseq[1], hs[1]
    local t, q, s = hts[hn], hseq[hn], hs[hn]
    hts[hn], hseq[hn], hs[hn] = nil, nil, nil
    hn = hn - 1
    if hn > 0 then
      local j = 1
      while true do
        local l = 2 * j
        if l > hn then break end
        local r = l + 1
        local m, mt, mq = l, hts[l], hseq[l]
        if r <= hn then
          local rt, rq = hts[r], hseq[r]
          if rt < mt or (rt == mt and rq < mq) then m, mt, mq = r, rt, rq end
        end
        if t < mt or (t == mt and q < mq) then break end
        hts[j], hseq[j], hs[j] = mt, mq, hs[m]
        j = m
      end
      hts[j], hseq[j], hs[j] = t, q, s
    end
    return t0, q0, s0
  end

  local function new_session(sk, start, end_, acc)
    seq = seq + 1
    local s = { start, end_, acc, seq, sk, false }
    push(end_ - 1, seq, s)
    return s
  end

  local late = late_record(op, ctx, late_tag)

  -- contents of b merged into a (the general path's merge_contents)
  local function merge_contents(a, b)
    if b == nil then return a end
    if a == nil then return b end
    if incremental then return merge_acc(a, b) end
    for i = 1, #b do a[#a + 1] = b[i] end
    table.sort(a, by_time)
    return a
  end

  -- list.newest: the key's session with the largest start (a hint for the
  -- record path), recomputed whenever the list changes other than by
  -- appending a newer session
  local function renew(list)
    local n
    for i = 1, #list do
      local y = list[i]
      if n == nil or y[S_START] > n[S_START] then n = y end
    end
    list.newest = n
  end

  local function kill(s, list)
    s[S_DEAD] = true
    for i = #list, 1, -1 do if list[i] == s then table.remove(list, i) end end
    if list.newest == s then renew(list) end
  end

  local function fire(s)
    local list = sessions[s[S_SK]]
    kill(s, list)
    if #list == 0 then sessions[s[S_SK]] = nil end
    emit_contents(keys[s[S_SK]], windows.window(s[S_START], s[S_END]), s[S_ACC])
  end

  op.on_watermark = function(wm)
    op.current_wm = wm
    while hn > 0 and hts[1] <= wm do
      local t, q, s = pop()
      if not s[S_DEAD] then
        if s[S_END] - 1 == t and s[S_SEQ] == q then fire(s)
        else push(s[S_END] - 1, s[S_SEQ], s) end -- it grew since: due at its end
      end
    end
    return op.emit_wm(wm)
  end

  -- checkpoints, as the general path's state
  local snapshot, restore = op.snapshot, op.restore
  op.snapshot = function(id)
    for sk, list in pairs(sessions) do
      local key = keys[sk]
      local set = {}
      for i, s in ipairs(list) do
        local w = windows.window(s[S_START], s[S_END])
        set[i] = w
        materialize(o, key, sk, w, s[S_ACC])
      end
      backend:put(SESSIONS, set) -- (materialize made key current)
    end
    local snap = snapshot(id)
    forget_materialized(backend, event_timers)
    return snap
  end
  op.restore = function(states, rescaled)
    restore(states, rescaled)
    for _, g in pairs(backend.data) do
      local contents = g[CONTENTS] or {}
      for sk, by_ns in pairs(g[SESSIONS] or {}) do
        local set = by_ns[""]
        local list = {}
        for i, w in ipairs(set or {}) do
          list[i] = new_session(sk, w.start, w.end_, (contents[sk] or {})[w.id])
        end
        if #list > 0 then
          renew(list)
          sessions[sk] = list
        end
      end
    end
    forget_materialized(backend, event_timers)
  end

  return function(v)
    local key = key_of(v)
    local ts = ctx.ts
    if ts == nil then
      error("an event-time window got a record without a timestamp: call " ..
        "assign_timestamps_and_watermarks(...) before the window", 0)
    end
    local sk = key
    if type(key) ~= "string" and type(key) ~= "number" then
      if key == nil then error("a key selector returned nil", 0) end
      sk = state_key(key)
    end
    local start, end_ = ts, ts + gap
    local list = sessions[sk]
    local s
    local touching, x = 0, nil
    if list ~= nil then
      local newest = list.newest
      if newest and ts >= newest[S_START] then
        -- the key's sessions are apart (gap-separated): a window starting
        -- at or after the newest one's start can touch only that one
        if newest[S_START] <= end_ and newest[S_END] >= start then touching, x = 1, newest end
      else
        for i = 1, #list do
          local y = list[i]
          if y[S_START] <= end_ and y[S_END] >= start then touching, x = touching + 1, y end
        end
      end
    end
    if touching == 1 then -- the common case: the window extends one session
      s = x
      local ns, ne = min(start, x[S_START]), max(end_, x[S_END])
      if ns ~= x[S_START] or ne ~= x[S_END] then -- a new window: its timer comes later
        seq = seq + 1
        local moved = ns ~= x[S_START]
        x[S_START], x[S_END], x[S_SEQ] = ns, ne, seq
        if moved then renew(list) end
      end
      if list[#list] ~= x then -- as the general path: the merged window goes last
        for i = 1, #list do
          if list[i] == x then table.remove(list, i) break end
        end
        list[#list + 1] = x
      end
    elseif touching > 1 then -- merge with every session the window touches
      local absorbed = {}
      local changed = true
      while changed do
        changed = false
        for i = #list, 1, -1 do
          local x = list[i]
          if x[S_START] <= end_ and x[S_END] >= start then
            start, end_ = min(start, x[S_START]), max(end_, x[S_END])
            absorbed[#absorbed + 1] = x
            table.remove(list, i)
            changed = true
          end
        end
      end
      if #absorbed > 0 then
        local acc
        for _, x in ipairs(absorbed) do
          acc = merge_contents(acc, x[S_ACC])
          x[S_DEAD] = true
        end
        if #absorbed == 1 and absorbed[1][S_START] == start and absorbed[1][S_END] == end_ then
          s = absorbed[1] -- the same window: its timer stays
          s[S_DEAD] = false
        else
          s = new_session(sk, start, end_, acc)
        end
        s[S_ACC] = acc
        list[#list + 1] = s
        renew(list)
      end
    end
    if s == nil then
      if end_ - 1 <= op.current_wm then return late(v, ts) end
      s = new_session(sk, start, end_, nil)
      if list == nil then
        list = {}
        sessions[sk] = list
      end
      list[#list + 1] = s
      local newest = list.newest
      if newest == nil or start > newest[S_START] then list.newest = s end
      keys[sk] = key
    end
    if incremental then s[S_ACC] = step(s[S_ACC], v)
    else
      local c = s[S_ACC]
      if c == nil then c = {}; s[S_ACC] = c end
      c[#c + 1] = { v, ts }
    end
  end
end

return M
