-- Nexmark q21 (add channel id): bids with the id of their channel, as
-- auction,bidder,price,channel,channel_id: 0-3 for Apple, Google, Facebook
-- and Baidu (any case), else the url's channel_id parameter; bids without
-- one are left out.
--   flowlua q21.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local HOT = { apple = "0", google = "1", facebook = "2", baidu = "3" }
local rows = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :flat_map(function(b, out)
    local id = HOT[b.channel:lower()] or b.url:match("^channel_id=([^&]*)") or b.url:match("&channel_id=([^&]*)")
    if id then out:collect({ b.auction, b.bidder, b.price, b.channel, id }) end
  end):name("channel id")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q21", params)
