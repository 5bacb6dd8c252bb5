-- IncrementalLearning, as Flink's example: a model is (re)built per 5 s
-- event-time window of training data (window_all), and new data is
-- connected with the model stream; the toy "prediction" tags each record
-- with where it came from (0: new data, 1: a model).
local flow = require("flow")
local env = flow.env{ parallelism = 1 }

local models = env:add_source(function(ctx)
  for i = 1, 8200 do
    local ts = i * 10
    ctx:collect_with_timestamp(1, ts)
    ctx:emit_watermark(ts - 1)
  end
end, { name = "Training Data" })
  :window_all(flow.windows.tumbling_event_time(5000))
  :apply(function(window, values, out) out:collect(#values > 0 and 1 or 0) end) -- one model per window

local new_data = env:add_source(function(ctx)
  for _ = 1, 50 do ctx:collect(1) end
end, { name = "New Data" })

new_data:connect(models)
  :map(function(_) return 0 end, function(_) return 1 end)
  :print()
env:execute("IncrementalLearning")
