--- Windows as Flink defines them, on the task side: `M.assigner`,
--- `M.trigger` and `M.evictor` turn a descriptor (made by the public
--- constructors `flow.windows.*`, `flow.triggers.*`, `flow.evictors.*` of
--- lua/flow/api/windows.lua, shipped with the job) into its implementation.
---
--- A window is a table { start = ms, end_ = ms, max_ts = end_ - 1, id = "start:end" };
--- the global window has start = -inf, end_ = max_ts = +inf. Time is in
--- milliseconds; the end of time is math.huge.

local huge = math.huge

local M = {}

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
