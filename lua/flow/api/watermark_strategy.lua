--- Watermark strategies (Flink's WatermarkStrategy): flow.watermarks makes
--- them, DataStream:assign_timestamps_and_watermarks takes them (it asks
--- is_strategy, and ships the strategy's plain fields).

--- Watermark strategies (Flink's WatermarkStrategy): plain data plus the
--- builder methods, so they ship with the job.
---@class flow.WatermarkStrategy
local Strategy = {}
Strategy.__index = Strategy
local function strategy(t) return setmetatable(t, Strategy) end
--- A copy of the strategy that takes event timestamps from
--- `f(v, previous_ts) -> ts` (ms; previous_ts is the record's timestamp so
--- far, if any).
---@param f fun(v: any, previous_ts?: integer): integer
---@return flow.WatermarkStrategy strategy
--- Example:
---   flow.watermarks.for_monotonous_timestamps()
---     :with_timestamp_assigner(function(v) return v.ts end)
function Strategy:with_timestamp_assigner(f)
  if type(f) ~= "function" then error("with_timestamp_assigner expects a function(v, previous_ts) -> ts", 2) end
  return strategy { delay = self.delay, idleness = self.idleness, assigner = f }
end
--- A copy of the strategy that marks a source subtask idle after ms without
--- records, so it does not hold back the watermark.
---@param ms integer a positive number of milliseconds
---@return flow.WatermarkStrategy strategy
--- Example:
---   flow.watermarks.for_bounded_out_of_orderness(500):with_idleness(10000)
function Strategy:with_idleness(ms)
  if type(ms) ~= "number" or ms <= 0 then error("with_idleness expects a positive number of ms", 2) end
  return strategy { delay = self.delay, idleness = ms, assigner = self.assigner }
end

-- flow.watermarks (lua/flow/init.lua puts it into `flow`)
---@class flow
local flow = {}

--- Watermark strategies (Flink's WatermarkStrategy factory methods), for
--- DataStream:assign_timestamps_and_watermarks.
---@class flow.watermarks
flow.watermarks = {
  --- Watermarks for ascending timestamps: the watermark is the largest
  --- timestamp seen minus 1.
  ---@return flow.WatermarkStrategy strategy
  --- Example:
  ---   ds:assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
  ---     :with_timestamp_assigner(function(v) return v[2] end))
  for_monotonous_timestamps = function() return strategy { delay = 0 } end,
  --- Watermarks for records out of order by at most ms: the largest
  --- timestamp seen minus ms minus 1.
  ---@param ms integer the bound, >= 0
  ---@return flow.WatermarkStrategy strategy
  --- Example:
  ---   ds:assign_timestamps_and_watermarks(flow.watermarks.for_bounded_out_of_orderness(1000)
  ---     :with_timestamp_assigner(function(v) return v.ts end))
  for_bounded_out_of_orderness = function(ms)
    if type(ms) ~= "number" or ms < 0 then error("for_bounded_out_of_orderness expects ms >= 0", 2) end
    return strategy { delay = ms }
  end,
}

--- Is st a strategy from flow.watermarks?
local function is_strategy(st) return getmetatable(st) == Strategy end

return {
  watermarks = flow.watermarks, -- public: flow.watermarks
  is_strategy = is_strategy,
}
