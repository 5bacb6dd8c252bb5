-- Nexmark q11 (user sessions): per bidder, sessions of bids with a 10 s
-- gap, as bidder,bid_count,session_start,session_end (session_end = the
-- last bid's dateTime + 10000).
--   flowlua q11.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

-- only (bidder, dateTime) crosses to the windows (a projection, as Flink's
-- planner makes one)
local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { b.bidder, b.dateTime } end):name("bidder, dateTime")
local rows = bids:key_by(1)
  :window(flow.windows.event_time_session(10000))
  :aggregate({
    create = function() return { 0, math.huge, -math.huge } end,
    add = function(b, acc)
      return { acc[1] + 1, math.min(acc[2], b[2]), math.max(acc[3], b[2]) }
    end,
    result = function(acc) return acc end,
    merge = function(a, b) return { a[1] + b[1], math.min(a[2], b[2]), math.max(a[3], b[3]) } end,
  }, function(bidder, ctx, results, out)
    local r = results[1]
    out:collect({ bidder, r[1], r[2], r[3] + 10000 })
  end):name("sessions")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q11", params)
