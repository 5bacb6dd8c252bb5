-- WindowJoin, as Flink's example: join two streams (grades and salaries)
-- on the name within tumbling event-time windows.
--
--   flowlua examples/window_join.lua [--window-ms 2000]
--
-- Both streams are deterministic: every 100 ms of event time a grade and a
-- salary for one of five names (grades cycle with step 1, salaries with
-- step 2), so which pairs meet in a window can be worked out by hand.
local flow = require("flow")
local params = flow.params()
local env = flow.env{ parallelism = 2 }
local window_ms = params:get_number("window-ms", 2000)
local NAMES = { "tom", "jerry", "alice", "bob", "john" }

local function source(step, make)
  return function(ctx)
    for i = 0, 39 do
      local ts = i * 100
      local name = NAMES[(i * step) % #NAMES + 1]
      ctx:collect_with_timestamp(make(name, i), ts)
      ctx:emit_watermark(ts - 1)
    end
  end
end

local grades = env:add_source(source(1, function(name, i) return { name, i % 5 + 1 } end), { name = "Grades" })
local salaries = env:add_source(source(2, function(name, i) return { name, 1000 + i } end), { name = "Salaries" })

grades:join(salaries)
  :where(1):equal_to(1)
  :window(flow.windows.tumbling_event_time(window_ms))
  :apply(function(g, s) return { g[1], g[2], s[2] } end)
  :print()
env:execute("Windowed Join Example")
