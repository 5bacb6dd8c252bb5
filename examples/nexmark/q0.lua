-- Nexmark q0 (pass-through): every bid, as auction,bidder,price,dateTime.
--   flowlua q0.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
nexmark.sink(bids:map(function(b) return { b.auction, b.bidder, b.price, b.dateTime } end), params)
nexmark.execute(env, "Nexmark q0", params)
