--- Windows as Flink defines them: assigners, triggers and evictors.
---
--- The public constructors (`flow.windows.*`, `flow.triggers.*`,
--- `flow.evictors.*`) return plain descriptor tables, which ship to the task
--- threads with the job; `M.assigner`, `M.trigger` and `M.evictor` turn a
--- descriptor into its implementation there.
---
--- A window is a table { start = ms, end_ = ms, max_ts = end_ - 1, id = "start:end" };
--- the global window has start = -inf, end_ = max_ts = +inf. Time is in
--- milliseconds; the end of time is math.huge.
---
--- A window assigner descriptor, from flow.windows.
---@alias flow.WindowAssigner {type: "tumbling"|"sliding"|"session"|"global", time?: "event"|"processing", size?: integer, slide?: integer, offset?: integer, gap?: integer}
--- A trigger descriptor, from flow.triggers.
---@alias flow.Trigger {type: string}
--- An evictor descriptor, from flow.evictors.
---@alias flow.Evictor {type: string}

local huge = math.huge

local M = {}

-- ------------------------------------------------------------ descriptors

--- Window assigners (Flink's WindowAssigner), for KeyedStream:window,
--- DataStream:window_all and the join builders. Times are milliseconds.
---@class flow.windows
local windows = {}
M.windows = windows

local function check_ms(x, what)
  if type(x) ~= "number" or x <= 0 then error(what .. " must be a positive number of milliseconds", 3) end
end

-- The three assigner shapes, in event or processing time; `name` is the
-- public constructor's, for errors. The constructors tail-call these, so
-- check_ms's level 3 is still the script that called the constructor.
local function tumbling(name, time, size, offset)
  check_ms(size, name .. ": size")
  return { type = "tumbling", time = time, size = size, offset = offset or 0 }
end
local function sliding(name, time, size, slide, offset)
  check_ms(size, name .. ": size")
  check_ms(slide, name .. ": slide")
  return { type = "sliding", time = time, size = size, slide = slide, offset = offset or 0 }
end
local function session(name, time, gap)
  check_ms(gap, name .. ": gap")
  return { type = "session", time = time, gap = gap }
end

--- Fixed-size, non-overlapping event-time windows
--- [start, start + size), aligned to the epoch plus offset.
---@param size integer window size in ms (> 0)
---@param offset? integer shift of the window starts in ms (default 0)
---@return flow.WindowAssigner assigner
--- Example:
---   ds:key_by(1):window(flow.windows.tumbling_event_time(60000)):sum(2)
function windows.tumbling_event_time(size, offset)
  return tumbling("tumbling_event_time", "event", size, offset)
end
--- Event-time windows of size ms that start every slide ms (a record
--- belongs to size / slide windows).
---@param size integer window size in ms (> 0)
---@param slide integer distance between window starts in ms (> 0)
---@param offset? integer shift of the window starts in ms (default 0)
---@return flow.WindowAssigner assigner
--- Example:
---   ds:key_by(1):window(flow.windows.sliding_event_time(10000, 5000)):max(2)
function windows.sliding_event_time(size, slide, offset)
  return sliding("sliding_event_time", "event", size, slide, offset)
end
--- Event-time session windows: a key's records closer than gap ms fall in
--- one window (windows merge).
---@param gap integer the session gap in ms (> 0)
---@return flow.WindowAssigner assigner
--- Example:
---   ds:key_by(1):window(flow.windows.event_time_session(3000)):sum(2)
function windows.event_time_session(gap)
  return session("event_time_session", "event", gap)
end
--- Fixed-size, non-overlapping windows of wall-clock time.
---@param size integer window size in ms (> 0)
---@param offset? integer shift of the window starts in ms (default 0)
---@return flow.WindowAssigner assigner
--- Example:
---   ds:key_by(1):window(flow.windows.tumbling_processing_time(5000)):sum(2)
function windows.tumbling_processing_time(size, offset)
  return tumbling("tumbling_processing_time", "processing", size, offset)
end
--- Wall-clock windows of size ms that start every slide ms.
---@param size integer window size in ms (> 0)
---@param slide integer distance between window starts in ms (> 0)
---@param offset? integer shift of the window starts in ms (default 0)
---@return flow.WindowAssigner assigner
--- Example:
---   ds:key_by(1):window(flow.windows.sliding_processing_time(10000, 1000)):sum(2)
function windows.sliding_processing_time(size, slide, offset)
  return sliding("sliding_processing_time", "processing", size, slide, offset)
end
--- Wall-clock session windows: records closer than gap ms fall in one window.
---@param gap integer the session gap in ms (> 0)
---@return flow.WindowAssigner assigner
--- Example:
---   ds:key_by(1):window(flow.windows.processing_time_session(1000)):sum(2)
function windows.processing_time_session(gap)
  return session("processing_time_session", "processing", gap)
end
--- One window per key for all time (Flink's GlobalWindows); it never fires
--- unless a trigger says so (count_window uses it).
---@return flow.WindowAssigner assigner
--- Example:
---   ds:key_by(1):window(flow.windows.global()):trigger(flow.triggers.count(3)):sum(2)
function windows.global()
  return { type = "global" }
end

--- Window triggers (Flink's Trigger), for WindowedStream:trigger.
---@class flow.triggers
local triggers = {}
M.triggers = triggers
--- Fires when a window holds n records (Flink's CountTrigger; does not purge).
---@param n integer records, >= 1
---@return flow.Trigger trigger
--- Example:
---   w:trigger(flow.triggers.count(100))
function triggers.count(n)
  if type(n) ~= "number" or n < 1 then error("count trigger: n must be >= 1", 2) end
  return { type = "count", n = n }
end
--- Fires when the watermark passes the window's end (the event-time
--- windows' default).
---@return flow.Trigger trigger
--- Example:
---   w:trigger(flow.triggers.event_time())
function triggers.event_time() return { type = "event_time" } end
--- Fires when the wall clock passes the window's end (the processing-time
--- windows' default).
---@return flow.Trigger trigger
--- Example:
---   w:trigger(flow.triggers.processing_time())
function triggers.processing_time() return { type = "processing_time" } end
--- Flink's DeltaTrigger: fires (without purging) when
--- `delta_fn(last, v) > threshold`, last being the record that last fired
--- (the window's first record at the start).
---@param threshold number
---@param delta_fn fun(old: any, new: any): number
---@return flow.Trigger trigger
--- Example:
---   w:trigger(flow.triggers.delta(50, function(old, new) return new[3] - old[3] end))
function triggers.delta(threshold, delta_fn)
  if type(threshold) ~= "number" or type(delta_fn) ~= "function" then
    error("delta trigger: expects a threshold and a function(old, new) -> number", 2)
  end
  return { type = "delta", threshold = threshold, fn = delta_fn }
end
--- Fires every interval ms of event time (aligned), and at the window's end
--- (Flink's ContinuousEventTimeTrigger).
---@param interval integer ms (> 0)
---@return flow.Trigger trigger
--- Example:
---   w:trigger(flow.triggers.continuous_event_time(1000))
function triggers.continuous_event_time(interval)
  check_ms(interval, "continuous_event_time: interval")
  return { type = "continuous_event_time", interval = interval }
end
--- Makes a trigger purge the window's contents whenever it fires (Flink's
--- PurgingTrigger).
---@param t flow.Trigger the trigger to wrap
---@return flow.Trigger trigger
--- Example:
---   w:trigger(flow.triggers.purging(flow.triggers.count(10)))
function triggers.purging(t)
  if type(t) ~= "table" or not t.type then error("purging expects a trigger", 2) end
  return { type = "purging", inner = t }
end

--- Window evictors (Flink's Evictor), for WindowedStream:evictor; they
--- evict before the window function.
---@class flow.evictors
local evictors = {}
M.evictors = evictors
--- Keeps the last n records of a window (Flink's CountEvictor).
---@param n integer records, >= 1
---@return flow.Evictor evictor
--- Example:
---   w:evictor(flow.evictors.count(10))
function evictors.count(n)
  if type(n) ~= "number" or n < 1 then error("count evictor: n must be >= 1", 2) end
  return { type = "count", n = n }
end
--- Keeps the records whose timestamp is within ms of the window's newest
--- one (Flink's TimeEvictor).
---@param ms integer ms (> 0)
---@return flow.Evictor evictor
--- Example:
---   w:evictor(flow.evictors.time(5000))
function evictors.time(ms)
  check_ms(ms, "time evictor")
  return { type = "time", ms = ms }
end

-- ------------------------------------------------------------ windows

-- cache[start][end_] = window; weak, so windows nobody holds go away
local window_cache = setmetatable({}, { __mode = "v" })

--- The window [start, end_); interned so equal windows are one table, and
--- looked up without building its id string.
local function window(start, end_)
  local by_end = window_cache[start]
  if by_end == nil then
    by_end = setmetatable({}, { __mode = "v" })
    window_cache[start] = by_end
  end
  local w = by_end[end_]
  if w == nil then
    w = { start = start, end_ = end_, max_ts = end_ - 1, id = start .. ":" .. end_ }
    by_end[end_] = w
  end
  return w
end
M.window = window

M.GLOBAL = { start = -huge, end_ = huge, max_ts = huge, id = "global" }

--- Flink's TimeWindow.getWindowStartWithOffset.
local function window_start(ts, offset, size)
  local r = (ts - offset + size) % size
  return ts - r
end
M.window_start = window_start

function M.intersects(a, b)
  return a.start <= b.end_ and a.end_ >= b.start
end

function M.cover(a, b)
  return window(math.min(a.start, b.start), math.max(a.end_, b.end_))
end

-- ------------------------------------------------------------ assigners

--- assigner(desc) -> { assign = fn(v, ts, now) -> array of windows,
---   event_time = bool, merging = bool, default_trigger = descriptor }
function M.assigner(d)
  local a = { event_time = d.time == "event", merging = d.type == "session", desc = d }
  if d.type == "tumbling" then
    local size, offset = d.size, d.offset or 0
    local one, last_start = {}, nil -- the caller uses the array at once
    a.assign = function(_, ts)
      local start = window_start(ts, offset, size)
      if start ~= last_start then
        one[1] = window(start, start + size)
        last_start = start
      end
      return one
    end
  elseif d.type == "sliding" then
    local size, slide, offset = d.size, d.slide, d.offset or 0
    a.assign = function(_, ts)
      local out = {}
      local last = window_start(ts, offset, slide)
      local start = last
      while start > ts - size do
        out[#out + 1] = window(start, start + size)
        start = start - slide
      end
      return out
    end
  elseif d.type == "session" then
    local gap = d.gap
    a.assign = function(_, ts) return { window(ts, ts + gap) } end
  elseif d.type == "global" then
    a.assign = function() return { M.GLOBAL } end
  else
    error("unknown window assigner " .. tostring(d.type))
  end
  if d.type == "global" then
    a.default_trigger = { type = "never" }
  elseif a.event_time then
    a.default_trigger = { type = "event_time" }
  else
    a.default_trigger = { type = "processing_time" }
  end
  return a
end

-- ------------------------------------------------------------ triggers

local CONTINUE, FIRE, PURGE, FIRE_AND_PURGE = "CONTINUE", "FIRE", "PURGE", "FIRE_AND_PURGE"
M.CONTINUE, M.FIRE, M.PURGE, M.FIRE_AND_PURGE = CONTINUE, FIRE, PURGE, FIRE_AND_PURGE

--- trigger(desc) -> object with on_element(v, ts, w, tctx), on_event_time(t, w, tctx),
--- on_processing_time(t, w, tctx), clear(w, tctx), on_merge(w, tctx),
--- can_merge, on_end_of_input(w, tctx). tctx gives timers, the watermark
--- and trigger state scoped to the current key and window.
function M.trigger(d)
  local t = { can_merge = true }
  function t.on_element() return CONTINUE end
  function t.on_event_time() return CONTINUE end
  function t.on_processing_time() return CONTINUE end
  function t.clear() end
  function t.on_merge() end
  function t.on_end_of_input() return CONTINUE end

  if d.type == "never" then
    return t
  elseif d.type == "event_time" then
    -- Flink's EventTimeTrigger: fire when the watermark passes max_ts
    function t.on_element(_, _, w, tctx)
      if w.max_ts <= tctx:current_watermark() then return FIRE end
      tctx:register_event_time_timer(w.max_ts)
      return CONTINUE
    end
    function t.on_event_time(time, w) return time == w.max_ts and FIRE or CONTINUE end
    function t.clear(w, tctx) tctx:delete_event_time_timer(w.max_ts) end
    function t.on_merge(w, tctx)
      if w.max_ts > tctx:current_watermark() then tctx:register_event_time_timer(w.max_ts) end
    end
  elseif d.type == "processing_time" then
    function t.on_element(_, _, w, tctx)
      tctx:register_processing_time_timer(w.max_ts)
      return CONTINUE
    end
    function t.on_processing_time() return FIRE end
    function t.clear(w, tctx) tctx:delete_processing_time_timer(w.max_ts) end
    function t.on_merge(w, tctx)
      if w.max_ts > tctx:current_processing_time() then tctx:register_processing_time_timer(w.max_ts) end
    end
  elseif d.type == "count" then
    local n = d.n
    function t.on_element(_, _, _, tctx)
      local c = (tctx:get_state("count") or 0) + 1
      if c >= n then
        tctx:put_state("count", nil)
        return FIRE
      end
      tctx:put_state("count", c)
      return CONTINUE
    end
    function t.clear(_, tctx) tctx:put_state("count", nil) end
    function t.on_merge(_, tctx) -- counts of merged windows add up
      tctx:put_state("count", tctx:merged_sum("count"))
    end
  elseif d.type == "delta" then
    -- Flink's DeltaTrigger: the first element is stored; a later one fires
    -- (without purging) when delta(stored, new) > threshold, and is stored
    local threshold, fn = d.threshold, d.fn
    t.can_merge = false
    function t.on_element(v, _, _, tctx)
      local last = tctx:get_state("last")
      if last == nil then
        tctx:put_state("last", v)
        return CONTINUE
      end
      if fn(last, v) > threshold then
        tctx:put_state("last", v)
        return FIRE
      end
      return CONTINUE
    end
    function t.clear(_, tctx) tctx:put_state("last", nil) end
    -- At the end of a bounded input each window fires once more: the rule
    -- that reproduces Flink's TopSpeedWindowing output (its last 2 lines).
    function t.on_end_of_input(_, tctx)
      if tctx:get_state("last") ~= nil then return FIRE end
      return CONTINUE
    end
  elseif d.type == "continuous_event_time" then
    -- Flink's ContinuousEventTimeTrigger: fires every `interval` of event
    -- time (aligned), and at the window's end
    local interval = d.interval
    function t.on_element(_, ts, w, tctx)
      if w.max_ts <= tctx:current_watermark() then return FIRE end
      tctx:register_event_time_timer(w.max_ts)
      if tctx:get_state("fire") == nil then
        local start = ts - (ts % interval)
        local next_fire = math.min(start + interval, w.max_ts)
        tctx:register_event_time_timer(next_fire)
        tctx:put_state("fire", next_fire)
      end
      return CONTINUE
    end
    function t.on_event_time(time, w, tctx)
      if time == w.max_ts then return FIRE end
      local f = tctx:get_state("fire")
      if f ~= nil and f == time then
        local next_fire = math.min(time + interval, w.max_ts)
        tctx:put_state("fire", next_fire)
        tctx:register_event_time_timer(next_fire)
        return FIRE
      end
      return CONTINUE
    end
    function t.clear(w, tctx)
      local f = tctx:get_state("fire")
      if f ~= nil then tctx:delete_event_time_timer(f) end
      tctx:put_state("fire", nil)
    end
    function t.on_merge(_, tctx)
      local m = tctx:merged_min("fire")
      if m ~= nil then
        tctx:put_state("fire", m)
        tctx:register_event_time_timer(m)
      end
    end
  elseif d.type == "purging" then
    local inner = M.trigger(d.inner)
    local function purge(r)
      if r == FIRE then return FIRE_AND_PURGE end
      return r
    end
    t.can_merge = inner.can_merge
    function t.on_element(...) return purge(inner.on_element(...)) end
    function t.on_event_time(...) return purge(inner.on_event_time(...)) end
    function t.on_processing_time(...) return purge(inner.on_processing_time(...)) end
    function t.on_end_of_input(...) return purge(inner.on_end_of_input(...)) end
    t.clear, t.on_merge = inner.clear, inner.on_merge
  else
    error("unknown trigger " .. tostring(d.type))
  end
  return t
end

-- ------------------------------------------------------------ evictors

--- evictor(desc) -> fn(entries, w) -> entries kept; entries are { v, ts }
--- arrays in arrival order. Evicts before the window function, as Flink's
--- evictors do by default.
function M.evictor(d)
  if d.type == "count" then
    local n = d.n
    return function(entries)
      if #entries <= n then return entries end
      local kept = {}
      for i = #entries - n + 1, #entries do kept[#kept + 1] = entries[i] end
      return kept
    end
  elseif d.type == "time" then
    -- Flink's TimeEvictor: keep elements with ts > max_ts_in_window - ms
    local ms = d.ms
    return function(entries)
      local max_ts = -huge
      for i = 1, #entries do
        local ts = entries[i][2]
        if ts ~= nil and ts > max_ts then max_ts = ts end
      end
      if max_ts == -huge then return entries end
      local cutoff = max_ts - ms
      local kept = {}
      for i = 1, #entries do
        local ts = entries[i][2]
        if ts == nil or ts > cutoff then kept[#kept + 1] = entries[i] end
      end
      return kept
    end
  end
  error("unknown evictor " .. tostring(d.type))
end

return M
