-- CountProductSales: orders per product per hour (event time).
--
--   flowlua examples/count_product_sales.lua --input ORDERS.csv [--output PATH] [--parallelism N]
--
-- Input lines are `productId,timestampMs`; output lines `productId,windowStart,count`.
-- Hourly tumbling event-time windows aligned to the epoch; watermarks are
-- generated periodically (every 200 ms) from monotonous timestamps; a window
-- without orders emits nothing.
local flow = require("flow")
local params = flow.params()
local env = flow.env()
if params:has("parallelism") then env:set_parallelism(params:get_number("parallelism")) end

local HOUR = 60 * 60 * 1000

local counts = env:read_text_file(params:get_required("input"))
  :flat_map(function(line, out)
    local pid, ts = line:match("^%s*(%d+)%s*,%s*(%d+)")
    if pid then out:collect({ tonumber(pid), tonumber(ts) }) end
  end)
  :assign_timestamps_and_watermarks(
    flow.watermarks.for_monotonous_timestamps():with_timestamp_assigner(function(order) return order[2] end))
  :key_by(1)
  :window(flow.windows.tumbling_event_time(HOUR))
  :aggregate({
    create = function() return 0 end,
    add = function(_, n) return n + 1 end,
    result = function(n) return n end,
    merge = function(a, b) return a + b end,
  }, function(pid, ctx, counts, out)
    out:collect(pid .. "," .. ctx.window.start .. "," .. counts[1])
  end)

if params:has("output") then counts:write_as_text(params:get("output")) else counts:print() end
env:execute("CountProductSales")
