-- Nexmark q1 (currency conversion): every bid with its price in euros,
-- as auction,bidder,price_eur,dateTime (price_eur = price * 908 // 1000).
--   flowlua q1.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local floor = math.floor
local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
nexmark.sink(bids:map(function(b)
  return { b.auction, b.bidder, floor(b.price * 908 / 1000), b.dateTime }
end):name("euros"), params)
nexmark.execute(env, "Nexmark q1", params)
