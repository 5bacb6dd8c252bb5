-- Nexmark q2 (selection): the bids on auctions whose id is a multiple of
-- 123, as auction,price.
--   flowlua q2.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local bids = nexmark.events(env, params)
  :filter(function(e) return e.event_type == 2 and e.auction % 123 == 0 end):name("selection")
nexmark.sink(bids:map(function(b) return { b.auction, b.price } end), params)
nexmark.execute(env, "Nexmark q2", params)
