-- Nexmark q5 (hot items): in sliding windows of 10 s every 2 s, the
-- auctions with the most bids, as window_start,window_end,auction,num
-- (every auction that ties for the maximum).
--   flowlua q5.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

-- only the auction crosses to the windows (the record keeps its time)
local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { b.auction } end):name("auction")
-- bids per auction and window
local counts = bids:key_by(1)
  :window(flow.windows.sliding_event_time(10000, 2000))
  :aggregate({
    create = function() return 0 end,
    add = function(_, n) return n + 1 end,
    result = function(n) return n end,
    merge = function(a, b) return a + b end,
  }, function(auction, ctx, results, out)
    out:collect({ ctx.window.start, ctx.window.end_, auction, results[1] })
  end):name("bids per auction")
-- per window, the counts that equal its maximum (a window's counts carry
-- its end - 1 as their time: one tumbling window of the slide holds them)
local hot = counts:key_by(1)
  :window(flow.windows.tumbling_event_time(2000))
  :process(function(_, _, rows, out)
    local max = 0
    for _, r in ipairs(rows) do if r[4] > max then max = r[4] end end
    for _, r in ipairs(rows) do if r[4] == max then out:collect(r) end end
  end):name("hottest")
nexmark.sink(hot, params)
nexmark.execute(env, "Nexmark q5", params)
