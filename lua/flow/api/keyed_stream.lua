--- Flink's KeyedStream (from DataStream:key_by): every DataStream method,
--- plus count windows, the interval join, and the keyed reduce and
--- aggregations (spec kind "reduce": a running result per record in
--- streaming mode, the final one per key in batch mode).
local classes = require("flow.api.classes")
local transformations = require("flow.api.transformations")
local windowed_stream = require("flow.api.windowed_stream")
local windows = require("flow.api.windows")
local joins = require("flow.api.joins")

local check_fn, one_input = transformations.check_fn, transformations.one_input

--- A stream partitioned by key (Flink's KeyedStream), from DataStream:key_by.
--- Every DataStream method applies to it, and the edge into the next
--- operator is hash-partitioned by key.
---@class flow.KeyedStream : flow.DataStream
---@field sum fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
---@field min fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
---@field max fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
---@field min_by fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
---@field max_by fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
local KeyedStream = classes.KeyedStream

--- Flink's countWindow: global windows with a count trigger (and a count evictor when sliding).
---@param size integer records per window
---@param slide? integer fire every slide records (a sliding count window)
---@return flow.WindowedStream windowed
--- Example:
---   ds:key_by(1):count_window(100):sum(2)
---   ds:key_by(1):count_window(10, 5):max(2)
function KeyedStream:count_window(size, slide)
  local w = windowed_stream.new(self, windows.windows.global(), false)
  if slide then
    w._evictor = windows.evictors.count(size)
    w._trigger = windows.triggers.count(slide)
  else
    w._trigger = windows.triggers.purging(windows.triggers.count(size))
  end
  return w
end

--- Starts an interval join (Flink's intervalJoin) of two keyed streams with
--- event timestamps.
---@param other flow.KeyedStream the right side
---@return flow.IntervalJoin join
--- Example:
---   a:key_by(1):interval_join(b:key_by(1)):between(-1000, 1000)
---     :process(function(l, r, ctx, out) out:collect({ l, r }) end)
function KeyedStream:interval_join(other)
  if getmetatable(other) ~= KeyedStream then error("interval_join expects a keyed stream", 2) end
  return joins.new_interval_join(self, other)
end

--- A running reduce per key (Flink's reduce): `f(acc, v) -> acc'`. Streaming
--- mode emits the running result per record; batch mode the final one per key.
---@param f fun(acc: any, v: any): any
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):reduce(function(a, b) return { a[1], a[2] + b[2] } end)
function KeyedStream:reduce(f)
  check_fn(f, "reduce")
  return one_input(self, "reduce", "Keyed Reduce", { kind = "reduce", fn = f })
end

local function aggregation(agg)
  return function(self, field)
    if type(field) ~= "number" and type(field) ~= "string" then
      error(agg .. " expects a field index or name", 2)
    end
    return one_input(self, "reduce", "Keyed Aggregation", { kind = "reduce", agg = agg, field = field })
  end
end
--- Sums a field per key; the other fields are the first record's (a
--- non-table record is summed itself).
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):sum(2)
KeyedStream.sum = aggregation("sum")
--- The smallest value of a field per key, in the key's first record.
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):min(2)
KeyedStream.min = aggregation("min")
--- The largest value of a field per key, in the key's first record.
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):max(2)
KeyedStream.max = aggregation("max")
--- The record with the smallest field per key (the first among ties).
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):min_by(2)
KeyedStream.min_by = aggregation("min_by")
--- The record with the largest field per key (the first among ties).
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):max_by(2)
KeyedStream.max_by = aggregation("max_by")

return KeyedStream
