-- SessionWindowing, as Flink's example: per key, sessions of activity that
-- end after a 3 ms gap; sum of the third field per session.
--
--   flowlua examples/session_windowing.lua [--input FILE] [--output PATH]
--
-- Input lines are `key,timestamp,count`; without --input the example's
-- built-in data. The source emits each element with its timestamp, then a
-- watermark one below it, as Flink's example source does.
local flow = require("flow")
local params = flow.params()
local env = flow.env{ parallelism = 1 }

local data = {
  { "a", 1, 1 }, { "b", 1, 1 }, { "b", 3, 1 }, { "b", 5, 1 }, { "c", 6, 1 }, { "a", 10, 1 }, { "c", 11, 1 },
}
if params:has("input") then
  data = {}
  for line in io.lines(params:get("input")) do
    local k, ts, n = line:match("^%s*([^,]+),%s*(%-?%d+),%s*(%-?%d+)")
    if k then data[#data + 1] = { k, tonumber(ts), tonumber(n) } end
  end
end

local sums = env:add_source(function(ctx)
  for _, e in ipairs(data) do
    ctx:collect_with_timestamp(e, e[2])
    ctx:emit_watermark(e[2] - 1)
  end
end, { name = "Session Source" })
  :key_by(1)
  :window(flow.windows.event_time_session(3))
  :sum(3)

if params:has("output") then sums:write_as_text(params:get("output")) else sums:print() end
env:execute("SessionWindowing")
