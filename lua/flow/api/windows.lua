--- Window assigners, triggers and evictors as Flink defines them: the
--- public constructors `flow.windows.*`, `flow.triggers.*` and
--- `flow.evictors.*`. They return plain descriptor tables, which ship to the
--- task threads with the job; lua/flow/runtime/windows.lua turns a
--- descriptor into its implementation there.
---
--- A window assigner descriptor, from flow.windows.
---@alias flow.WindowAssigner {type: "tumbling"|"sliding"|"session"|"global", time?: "event"|"processing", size?: integer, slide?: integer, offset?: integer, gap?: integer}
--- A trigger descriptor, from flow.triggers.
---@alias flow.Trigger {type: string}
--- An evictor descriptor, from flow.evictors.
---@alias flow.Evictor {type: string}

local M = {}

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

return M
