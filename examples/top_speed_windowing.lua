-- TopSpeedWindowing, as Flink's example: per car, every time it has driven
-- 50 m more since the last firing, the top speed of the last 10 s.
--
--   flowlua examples/top_speed_windowing.lua --input CARS.txt [--output PATH]
--
-- Input lines are `(carId,speedKmh,distanceM,timestampMs)`. A global window
-- per car, a delta trigger on the distance, a 10 s time evictor, max_by speed.
local flow = require("flow")
local params = flow.params()
local env = flow.env{ parallelism = 1 }

local top = env:read_text_file(params:get_required("input"))
  :flat_map(function(line, out)
    local id, speed, dist, ts = line:match("^%(([^,]+),([^,]+),([^,]+),([^,]+)%)")
    if id then out:collect({ tonumber(id), tonumber(speed), tonumber(dist), tonumber(ts) }) end
  end)
  :assign_timestamps_and_watermarks(
    flow.watermarks.for_monotonous_timestamps():with_timestamp_assigner(function(car) return car[4] end))
  :key_by(1)
  :window(flow.windows.global())
  :evictor(flow.evictors.time(10000))
  :trigger(flow.triggers.delta(50, function(old, new) return new[3] - old[3] end))
  :max_by(2)

if params:has("output") then top:write_as_text(params:get("output")) else top:print() end
env:execute("CarTopSpeedWindowingExample")
