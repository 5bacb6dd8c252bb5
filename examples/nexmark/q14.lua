-- Nexmark q14 (calculation): bids whose price in euros (0.908 × price) is
-- between 1 000 000 and 50 000 000 (both excluded), with the time of day
-- of the bid and the number of "c" in its extra, as
-- auction,bidder,price_eur,bidTimeType,dateTime,c_count (price_eur =
-- price * 908 // 1000; bidTimeType from the UTC hour: dayTime 8-18,
-- nightTime up to 6 and from 20, otherTime else).
--   flowlua q14.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local floor = math.floor
local rows = nexmark.events(env, params)
  :filter(function(e)
    return e.event_type == 2 and e.price * 908 > 1000000000 and e.price * 908 < 50000000000
  end):name("price band")
  :map(function(b)
    local h = floor(b.dateTime / 3600000) % 24
    local kind = (h >= 8 and h <= 18) and "dayTime" or (h <= 6 or h >= 20) and "nightTime" or "otherTime"
    local _, c = b.extra:gsub("c", "")
    return { b.auction, b.bidder, floor(b.price * 908 / 1000), kind, b.dateTime, c }
  end):name("calculation")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q14", params)
